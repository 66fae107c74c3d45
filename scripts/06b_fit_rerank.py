"""Phase 6b: fit the stage-2 fusion on LogoBench-format validation splits together and print the tables.

    python scripts/06b_fit_rerank.py --bench ../shared/logobench --bench ../shared/logobench-composite \
        --guard ../shared/logobench --out config/rerank.yaml --cache runs/fit --json runs/fit.json

For each benchmark: builds the gallery index with local features, OCR'd names and elements (figures), runs every
query through the one query path (a query carries only its image), and collects each candidate's component
scores. The fusion (weights, neutral points, ``either``) is fitted on the fitting half of every benchmark at once
(coordinate ascent over ``fusion_fit.GRID``, objective: mean R@1 and mAP@100 over all their tasks); every row is reported
per benchmark on both halves, and per style pair for a composite benchmark. The chosen fusion is written as a
settings overlay (``--config config/rerank.yaml``); copy it into the defaults to ship it.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Annotated, Optional

import typer
import yaml
from loguru import logger

from logo_similarity.config import load_settings
from logo_similarity.evaluation.composite import composite_styles, style_pair
from logo_similarity.evaluation.fusion_fit import fit_weights, format_table, split, style_table
from logo_similarity.evaluation.rerank_eval import Collected
from logo_similarity.utils.logging import configure_logging


def collect_bench(bench: Path, model: str | None, settings, cache: Path | None) -> Collected:
    """The benchmark's collected components (read from ``cache/<name>.pkl`` when there), each query's style
    pair set as its group when the benchmark has composites."""
    path = cache / f"{bench.name}.pkl" if cache is not None else None
    if path is not None and path.is_file():
        with open(path, "rb") as fh:
            collected = pickle.load(fh)
    else:
        from logo_similarity.embeddings import load_embedder
        from logo_similarity.evaluation.logobench import build_gallery, load_benchmark
        from logo_similarity.evaluation.rerank_eval import collect

        embedder = load_embedder(model, settings)
        index, _ = build_gallery(bench, embedder, settings, rerank=True)
        _, rows = load_benchmark(bench)
        key_to_id = {meta["key"]: item_id for item_id, meta in index.metadata.items()}
        collected = collect(index, embedder, settings, bench, rows, key_to_id, variants=True)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as fh:
                pickle.dump(collected, fh)
    styles = composite_styles(bench)
    if styles is not None:
        with open(bench / "queries.jsonl", encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh if line.strip()]
        for query, row in zip(collected.queries, rows):
            query.group = style_pair(row, styles)
    return collected


def main(
    bench: Annotated[Optional[list[Path]], typer.Option(help="LogoBench-format folder (repeatable)")] = None,
    out: Annotated[Path, typer.Option(help="settings overlay to write the fitted fusion to")] = Path("config/rerank.yaml"),
    model: Annotated[Optional[str], typer.Option(help="model (default: the packaged one)")] = None,
    cache: Annotated[Optional[Path], typer.Option(help="folder keeping each benchmark's collected scores (pickle)")] = None,
    report: Annotated[Optional[Path], typer.Option("--json", help="write every row's metrics here")] = None,
    guard: Annotated[Optional[list[Path]], typer.Option(
        help="benchmark (one of --bench, repeatable) none of whose tasks may lose more than --tolerance against "
        "the configured fusion on any metric")] = None,
    tolerance: Annotated[float, typer.Option(help="largest loss allowed on a guarded task")] = 0.005,
    config: Annotated[Optional[Path], typer.Option(help="settings overlay: the fusion the fit starts from")] = None,
) -> None:
    configure_logging("INFO")
    settings = load_settings(config)
    benches = bench or [Path("../shared/logobench"), Path("../shared/logobench-composite")]
    collections = [collect_bench(b, model, settings, cache) for b in benches]
    guarded = {q.task for b, c in zip(benches, collections) if b in (guard or []) for q in c.queries}
    r = settings.rerank
    best, rows = fit_weights(collections, dict(r.weights), dict(r.neutral), r.either, guard=guarded,
                             tolerance=tolerance)
    out_rows = []
    for b, collected in zip(benches, collections):
        tasks = sorted({q.task for q in collected.queries})
        for label in ("fit", "held_out"):
            logger.info("{}, {} half:\n{}", b.name, label, format_table(rows, label, tasks))
        for label, half in zip(("fit", "held_out"), split(collected)):
            table = style_table(rows, half)
            if table:
                logger.info("{}, {} half, per style pair:\n{}", b.name, label, table)
    logger.info("chosen: weights {} neutral {} either {} variants {}", best.weights, best.neutral, best.either,
                best.use)
    overlay = {"rerank": {"weights": best.weights, "neutral": best.neutral, "either": best.either,
                          "qe_top": {"image_qe5": 5, "image_qe10": 10}.get(best.use.get("image"), 0)}}
    out.write_text(yaml.safe_dump(overlay, sort_keys=False))
    if report is not None:
        for row in rows:
            out_rows.append({"row": row.name, "weights": row.weights, "neutral": row.neutral, "either": row.either,
                             "use": row.use, "all": row.all, "held_out": row.held_out, "fit": row.fit})
        report.write_text(json.dumps(out_rows, indent=2))
    logger.info("wrote {}", out)


if __name__ == "__main__":
    typer.run(main)
