"""What splitting marks into elements costs an index build, per image, against a build without it.

    python -m scripts.bench.bench_elements --bench ../shared/logobench-composite --images 600 --json runs/bench_elements.json

Builds the same images (the benchmark's gallery, composites and plain marks in its order) four ways: elements off
and on, with the marks' names given (as an L3D register gives them: no OCR at all without elements) and without
(OCR reads every name: the OCR pass is already there). Each build runs alone, in this process, with the shipped
settings; the report gives images/s, the ratio on/off per case, and how many figures were stored.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from logo_similarity.config import load_settings
from logo_similarity.datasets import LogoRecord
from logo_similarity.embeddings import load_embedder
from logo_similarity.evaluation.logobench import load_benchmark
from logo_similarity.indexing import build_with_settings
from logo_similarity.utils.logging import configure_logging


def main(
    bench: Annotated[Path, typer.Option(help="LogoBench-format folder")] = Path("../shared/logobench-composite"),
    images: Annotated[int, typer.Option(help="gallery images built each way")] = 600,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="write the report here")] = None,
) -> None:
    configure_logging("WARNING")
    settings = load_settings()
    embedder = load_embedder(None, settings)
    gallery, _ = load_benchmark(bench)
    step = max(1, len(gallery) // images)
    named = gallery[::step][:images]
    unnamed = [LogoRecord(r.key, r.path) for r in named]
    build_with_settings(named[:8], embedder, settings, factory="Flat")  # models loaded and exported once, untimed
    report: dict = {"images": len(named), "cases": {}}
    for case, records in (("names given", named), ("names read by OCR", unnamed)):
        row = {}
        for label, enabled in (("off", False), ("on", True)):
            s = settings.model_copy(update={"elements": settings.elements.model_copy(update={"enabled": enabled})})
            start = time.perf_counter()
            index, _ = build_with_settings(records, embedder, s, factory="Flat")
            seconds = time.perf_counter() - start
            row[label] = {"seconds": round(seconds, 2), "img_per_s": round(len(records) / seconds, 2),
                          "figures": len(index.figures) if index.figures is not None else 0}
        row["time_ratio_on_off"] = round(row["on"]["seconds"] / row["off"]["seconds"], 3)
        report["cases"][case] = row
    typer.echo(json.dumps(report, indent=2))
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    typer.run(main)
