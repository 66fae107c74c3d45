"""The quick-start job: index the bundled demo gallery, search with modified copies, write result sheets."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Optional

import typer
from loguru import logger

from logo_similarity.commands.options import ConfigOpt, ModelOpt, TextMaskOpt, command_settings
from logo_similarity.datasets import read_dataset
from logo_similarity.datasets.transforms import modified_copy
from logo_similarity.embeddings import load_embedder
from logo_similarity.preprocessing import load_image
from logo_similarity.reporting import QueryReport, write_html_sheet, write_png_sheet
from logo_similarity.indexing import build_with_settings
from logo_similarity.retrieval import SearchIndex
from logo_similarity.retrieval.store.lock import index_writer
from logo_similarity.search import search_image


@dataclass
class DemoReport:
    reports: list[QueryReport]
    html: Path
    png: Path
    index_dir: Path
    gallery_size: int

    @property
    def found_at_1(self) -> int:
        return sum(1 for r in self.reports if r.results and r.results[0].key == r.expected_key)


def demo(
    gallery: Annotated[Path, typer.Option(help="demo gallery metadata")] = Path("data/demo/metadata.jsonl"),
    out: Annotated[Path, typer.Option(help="folder for query images and result sheets")] = Path("runs/demo"),
    index_dir: Annotated[Optional[Path], typer.Option("--index", help="where the demo index goes")] = None,
    queries: Annotated[int, typer.Option(min=1, max=50, help="number of example searches")] = 6,
    k: Annotated[int, typer.Option(min=1, max=50)] = 5,
    seed: Annotated[int, typer.Option(help="picks the example logos")] = 7,
    model: ModelOpt = None,
    text_mask: TextMaskOpt = None,
    config: ConfigOpt = None,
) -> DemoReport:
    """Index the bundled gallery of real logos, search with modified copies of some, show the rankings."""
    settings = command_settings(config, text_mask=text_mask)
    records = read_dataset(gallery)
    embedder = load_embedder(model, settings)
    index_dir = index_dir or Path("index/demo")
    index, report = build_with_settings(records, embedder, settings)
    with index_writer(index_dir, "logo-sim demo", settings.index.lock_timeout_s):
        index.save(index_dir)
    index = SearchIndex.load(index_dir, expected_spec=embedder.spec)
    logger.info("demo index: {} logos in {:.1f}s -> {}", len(index), report.seconds, index_dir)

    (out / "queries").mkdir(parents=True, exist_ok=True)
    reports = []
    for record in random.Random(seed).sample(records, min(queries, len(records))):
        query, steps = modified_copy(load_image(record.path, settings.image), seed=f"{seed}:{record.key}")
        query_path = out / "queries" / f"{Path(record.key).stem}-modified.png"
        query.save(query_path)
        results = search_image(index, embedder, load_image(query_path, settings.image), k, settings)
        title = f"{record.text or record.key}: {' + '.join(steps)}"
        reports.append(QueryReport(title, query, results, expected_key=record.key))
    html = write_html_sheet(reports, out / "results.html", title="logo-similarity demo")
    png = write_png_sheet(reports, out / "results.png", columns=k + 1)
    return DemoReport(reports, html, png, index_dir, len(index))
