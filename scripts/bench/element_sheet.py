"""The elements found in composite marks, as a sheet to check by eye (HTML and PNG), with counts of kinds.

    python scripts/bench/element_sheet.py --bench ../shared/logobench-composite --n 20 --out runs/elements

Takes the first ``n`` gallery composites of the benchmark, half device-dominant and half word-dominant (from its
``composites.jsonl``), splits each with the shipped settings (the function index and query time call) and writes
``OUT.html`` and ``OUT.png``; ``--json`` writes the kinds found per style and the split's time per mark.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer

from logo_similarity.config import load_settings
from logo_similarity.preprocessing import load_image
from logo_similarity.preprocessing.elements import ElementReader
from logo_similarity.reporting.elements_sheet import write_elements_sheet
from logo_similarity.utils.logging import configure_logging


def main(
    bench: Annotated[Path, typer.Option(help="LogoBench-Composite folder")] = Path("../shared/logobench-composite"),
    n: Annotated[int, typer.Option(help="composite marks on the sheet")] = 20,
    out: Annotated[Path, typer.Option(help="sheet path without suffix")] = Path("runs/elements"),
    json_out: Annotated[Optional[Path], typer.Option("--json", help="write the counts here")] = None,
) -> None:
    configure_logging("WARNING")
    settings = load_settings()
    reader = ElementReader(settings.text, settings.elements, str(settings.model.cache_dir))
    with open(bench / "composites.jsonl", encoding="utf-8") as fh:
        styles = {row["id"]: row["style"].split("-")[0] for row in map(json.loads, fh) if row["id"].startswith("comp:")}
    with open(bench / "gallery.jsonl", encoding="utf-8") as fh:
        gallery = {row["id"]: row for row in map(json.loads, fh)}
    chosen = [i for s in ("device", "word") for i in sorted(k for k, v in styles.items() if v == s)[: n // 2]]
    marks, kinds, seconds = [], {}, []
    for key in chosen:
        image = load_image(bench / gallery[key]["file"], settings.image)
        start = time.perf_counter()
        parts = reader(image, recognize=True)
        seconds.append(time.perf_counter() - start)
        kinds.setdefault(styles[key], {}).setdefault(parts.kind, 0)
        kinds[styles[key]][parts.kind] += 1
        marks.append((f"{key} {gallery[key]['text']} ({styles[key]}-dominant)", image, parts))
    html_path, png_path = write_elements_sheet(marks, out.with_suffix(".html"), out.with_suffix(".png"))
    report = {"marks": len(marks), "kinds": kinds, "split_ms_p50": 1000 * float(np.median(seconds)),
              "html": str(html_path), "png": str(png_path)}
    typer.echo(json.dumps(report, indent=2))
    if json_out:
        json_out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    typer.run(main)
