"""Phase 6b: fit the stage-2 fusion weights on a LogoBench-format validation split and print the table.

    python scripts/06b_fit_rerank.py --bench ../shared/logobench --out config/rerank.yaml

Builds the gallery index with local features and OCR'd names, runs every query through the one query path
(query carries only its image), collects each candidate's component scores, grid-searches the weights on
half of the queries and reports every row on both halves. The chosen weights are written as a settings
overlay (``--config config/rerank.yaml``); copy them into the defaults to ship them.
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
from logo_similarity.embeddings import load_embedder
from logo_similarity.evaluation.fusion_fit import fit_weights, format_table
from logo_similarity.evaluation.logobench import build_gallery, load_benchmark
from logo_similarity.evaluation.rerank_eval import collect
from logo_similarity.utils.logging import configure_logging


def main(
    bench: Annotated[Path, typer.Option(help="LogoBench-format folder")] = Path("../shared/logobench"),
    out: Annotated[Path, typer.Option(help="settings overlay to write the fitted weights to")] = Path("config/rerank.yaml"),
    model: Annotated[Optional[str], typer.Option(help="model (default: the packaged one)")] = None,
    cache: Annotated[Optional[Path], typer.Option(help="keep the collected component scores here (pickle)")] = None,
    report: Annotated[Optional[Path], typer.Option("--json", help="write every row's metrics here")] = None,
) -> None:
    configure_logging("INFO")
    settings = load_settings()
    if cache is not None and cache.is_file():
        with open(cache, "rb") as fh:
            collected = pickle.load(fh)
    else:
        embedder = load_embedder(model, settings)
        index, _ = build_gallery(bench, embedder, settings, rerank=True)
        _, rows = load_benchmark(bench)
        key_to_id = {meta["key"]: item_id for item_id, meta in index.metadata.items()}
        collected = collect(index, embedder, settings, bench, rows, key_to_id, variants=True)
        if cache is not None:
            with open(cache, "wb") as fh:
                pickle.dump(collected, fh)
    best, rows = fit_weights(collected, dict(settings.rerank.weights), dict(settings.rerank.neutral))
    for label in ("all", "held_out"):
        logger.info("LogoBench, {} queries:\n{}", label, format_table(rows, label))
    logger.info("chosen: weights {} neutral {} variants {}", best.weights, best.neutral, best.use)
    overlay = {"rerank": {"weights": best.weights, "neutral": best.neutral,
                          "qe_top": {"image_qe5": 5, "image_qe10": 10}.get(best.use.get("image"), 0)}}
    out.write_text(yaml.safe_dump(overlay, sort_keys=False))
    if report is not None:
        report.write_text(json.dumps([{"row": r.name, "weights": r.weights, "neutral": r.neutral, "use": r.use, "all": r.all,
                                       "held_out": r.held_out, "fit": r.fit} for r in rows], indent=2))
    logger.info("wrote {}", out)


if __name__ == "__main__":
    typer.run(main)
