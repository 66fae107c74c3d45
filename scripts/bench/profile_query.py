"""Where one query's time goes: the shipped query path (``run_query``: decode, OCR, embed, stage 1, stage 2),
one query at a time, split per stage, over a benchmark's gallery.

    python -m scripts.bench.profile_query --bench ../shared/logobench-composite --gallery 1000 --queries 150 \
        --json runs/profile_query.json

The gallery (a seeded sample of --gallery images, Flat index, stage-2 data, shipped settings) is built once;
then --queries query images (seeded) are searched one by one with re-ranking and query OCR on, as the API
serves them; first a few untimed warm-up queries. Prints p50/p99 of the total and of every stage
(``utils.timing.query_stages``) and of every raw lap.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from logo_similarity.config import load_settings
from logo_similarity.embeddings import load_embedder
from logo_similarity.evaluation.logobench import load_benchmark
from logo_similarity.indexing import build_with_settings
from logo_similarity.preprocessing import load_image
from logo_similarity.search.query import Query, run_query
from logo_similarity.utils.logging import configure_logging
from logo_similarity.utils.timing import percentiles_ms, stage_percentiles

WARM_UP = 5


def main(
    bench: Annotated[Path, typer.Option(help="LogoBench-format folder")] = Path("../shared/logobench-composite"),
    gallery: Annotated[int, typer.Option(help="gallery images indexed (seeded sample)")] = 1000,
    queries: Annotated[int, typer.Option(help="query images searched one by one (seeded sample)")] = 150,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="write the report here")] = None,
) -> None:
    configure_logging("WARNING")
    settings = load_settings()
    embedder = load_embedder(None, settings)
    records, query_rows = load_benchmark(bench)
    rng = random.Random(0)
    records = rng.sample(records, min(gallery, len(records)))
    index, _ = build_with_settings(records, embedder, settings, factory="Flat")
    files = sorted({q["file"] for q in query_rows})
    sample = rng.sample(files, min(queries + WARM_UP, len(files)))
    totals, laps = [], []
    for i, name in enumerate(sample):
        start = time.perf_counter()
        image = load_image(bench / name, settings.image)
        decoded = time.perf_counter()
        outcome = run_query(index, embedder, Query(image=image, k=settings.search.k, rerank=True), settings)
        if i >= WARM_UP:
            totals.append(time.perf_counter() - start)
            laps.append({"decode": (decoded - start) * 1000.0, **outcome.timings_ms})
    raw = sorted({lap for t in laps for lap in t})
    report = {
        "bench": str(bench), "gallery": len(index), "queries": len(totals),
        "total_ms": percentiles_ms(totals),
        "stages_ms": stage_percentiles(laps),
        "laps_ms": {lap: percentiles_ms([t.get(lap, 0.0) / 1000.0 for t in laps]) for lap in raw},
    }
    typer.echo(f"one query end to end over {report['gallery']} items: p50 {report['total_ms']['p50']:.1f} ms, "
               f"p99 {report['total_ms']['p99']:.1f} ms ({report['queries']} queries)")
    for stage, t in report["stages_ms"].items():
        typer.echo(f"  {stage:<8} p50 {t['p50']:7.1f} ms   p99 {t['p99']:7.1f} ms")
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    typer.run(main)
