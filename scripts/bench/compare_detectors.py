"""Text detectors side by side, the same recogniser behind each: words read, elements split, time.

    python -m scripts.bench.compare_detectors --configs craft-160,ppocr-128,ppocr-160,ppocr-256 --json OUT

For each DETECTOR-LONGSIDE: on LogoBench-Composite gallery marks (seeded: --words with words, --plain without),
the marks whose word is read exactly and the plain marks given a word; on LogoBench gallery logos (--logos), the
logos whose word set equals the first config's, those with a true word read (against the metadata's name), and
the logos whose elements split (word / figurative / composite) differs from the first config's; detection and
read (detection + recognition) p50 ms. The quality runs themselves are ``logo-sim eval`` with
``LOGO_SIM__TEXT__DETECTOR``.
"""

from __future__ import annotations

import json
import random
import re
import statistics
import time
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer
from PIL import Image

from logo_similarity.config import load_settings
from logo_similarity.evaluation.watch_bench import jsonl_rows
from logo_similarity.preprocessing.elements import split_elements
from logo_similarity.text.ocr import get_detector, read_text
from logo_similarity.utils.logging import configure_logging


def _letters(text: str | None) -> str:
    return re.sub(r"[^a-z]", "", (text or "").lower())


def _words(text: str | None) -> list[str]:
    return sorted(w for w in re.findall(r"[a-z]+", (text or "").lower()) if len(w) >= 3)


def main(
    configs: Annotated[str, typer.Option(help="DETECTOR-LONGSIDE, comma-separated; the first is the reference")]
    = "craft-160,ppocr-160",
    composite: Annotated[Path, typer.Option(help="LogoBench-Composite folder")] = Path("../shared/logobench-composite"),
    logobench: Annotated[Path, typer.Option(help="LogoBench folder")] = Path("../shared/logobench"),
    words: Annotated[int, typer.Option(help="composite marks with words")] = 200,
    plain: Annotated[int, typer.Option(help="composite marks without words")] = 100,
    logos: Annotated[int, typer.Option(help="LogoBench logos")] = 300,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="write the figures here")] = None,
) -> None:
    configure_logging("WARNING")
    settings = load_settings()
    cache = Path(settings.model.cache_dir).expanduser()
    rng = random.Random(0)
    rows = jsonl_rows(composite / "gallery.jsonl")
    marks = rng.sample([r for r in rows if r["text"]], words) + rng.sample([r for r in rows if not r["text"]], plain)
    mark_images = [Image.open(composite / r["file"]).convert("RGB") for r in marks]
    lb_rows = rng.sample(jsonl_rows(logobench / "gallery.jsonl"), logos)
    lb_images = [Image.open(logobench / r["file"]).convert("RGB") for r in lb_rows]
    report, reference = {}, None
    for config in configs.split(","):
        detector, size = config.rsplit("-", 1)
        text = settings.text.model_copy(update={"detector": detector, "detector_size": int(size)})
        for image in mark_images[:3]:  # warm-up (and a one-off export)
            read_text(image, text, cache)
        exact = given = 0
        detect_ms, read_ms = [], []
        for row, image in zip(marks, mark_images):
            start = time.perf_counter()
            result = read_text(image, text, cache)
            read_ms.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            get_detector(text, cache).detect(np.asarray(image))
            detect_ms.append((time.perf_counter() - start) * 1000)
            got = " ".join(t for t, c in zip(result.texts, result.confidences) if c >= 0.5)
            if row["text"]:
                exact += _letters(row["text"]) in [_letters(w) for w in got.split()] or _letters(row["text"]) == _letters(got)
            else:
                given += bool(_words(got))
        read, kinds = [], []
        for row, image in zip(lb_rows, lb_images):
            result = read_text(image, text, cache)
            read.append(_words(" ".join(t for t, c in zip(result.texts, result.confidences) if c >= 0.5)))
            kinds.append(split_elements(image, result, settings.elements, text).kind)
        if reference is None:
            reference = (read, kinds)
        truth = [_words(r.get("text")) for r in lb_rows]
        report[config] = {
            "composite_words_exact": exact, "composite_words": words, "plain_given_words": given, "plain": plain,
            "logobench_same_words": sum(a == b for a, b in zip(read, reference[0])),
            "logobench_true_word_read": sum(bool(t) and any(w in r for w in t) for t, r in zip(truth, read)),
            "logobench_split_differs": sum(a != b for a, b in zip(kinds, reference[1])), "logos": logos,
            "detect_p50_ms": round(statistics.median(detect_ms), 1), "read_p50_ms": round(statistics.median(read_ms), 1),
        }
        r = report[config]
        typer.echo(f"{config}: composite words {exact}/{words}, plain given words {given}/{plain} | LogoBench same "
                   f"words {r['logobench_same_words']}/{logos}, true word read {r['logobench_true_word_read']}, split "
                   f"differs {r['logobench_split_differs']}/{logos} | detect p50 {r['detect_p50_ms']} ms, read p50 "
                   f"{r['read_p50_ms']} ms")
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    typer.run(main)
