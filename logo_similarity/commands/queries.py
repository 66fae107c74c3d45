"""Query commands: ``search`` (an image and/or a name against an index) and ``eval`` (a benchmark's metrics)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from logo_similarity.commands.options import ConfigOpt, IndexOpt, ModelOpt, PoolingOpt, TextMaskOpt, command_settings
from logo_similarity.embeddings import load_embedder
from logo_similarity.embeddings.loading import embedder_for_spec
from logo_similarity.datasets.records import IMAGE_SUFFIXES
from logo_similarity.preprocessing import load_image
from logo_similarity.preprocessing.loader import ImageLoadError
from logo_similarity.retrieval import SearchIndex, SearchResult
from logo_similarity.retrieval.filters import ItemFilter
from logo_similarity.search import Query, QueryError, run_queries, run_query, search_image


def search(
    image: Annotated[Optional[Path], typer.Argument(
        help="query logo image; or a folder of them, or a .txt list of their paths (batch: one result list each)")] = None,
    text: Annotated[Optional[str], typer.Option(help="the mark's name: sound-alike search, or name score per result")] = None,
    index_dir: IndexOpt = None,
    k: Annotated[Optional[int], typer.Option(min=1, max=1000, help="number of results")] = None,
    model: ModelOpt = None,
    sheet: Annotated[Optional[Path], typer.Option(help="write an HTML result sheet here")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="write results as JSON here")] = None,
    nice: Annotated[Optional[str], typer.Option(help="only marks in any of these Nice classes, e.g. 9,42")] = None,
    vienna: Annotated[Optional[str], typer.Option(help="only marks with a code under this prefix, e.g. 27.05")] = None,
    year_from: Annotated[Optional[int], typer.Option(help="only marks filed in or after this year")] = None,
    year_to: Annotated[Optional[int], typer.Option(help="only marks filed in or before this year")] = None,
    config: ConfigOpt = None,
) -> list[SearchResult]:
    """Find the indexed marks that look like IMAGE and/or sound like --text (IMAGE a folder or a list: each
    image, embedded in batches)."""
    if image is None and not text:
        raise typer.BadParameter("give a query IMAGE, --text NAME, or both")
    try:
        item_filter = ItemFilter(vienna, year_from, year_to, nice or frozenset())
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    settings = command_settings(config)
    folder = index_dir or Path(settings.index.dir)
    loaded = SearchIndex.load(folder, mmap=settings.index.mmap)
    k = k or settings.search.k
    if image is None:
        try:
            results = run_query(loaded, None, Query(text=text, k=k, filter=item_filter), settings).results
        except QueryError as exc:
            raise typer.BadParameter(str(exc)) from exc
    elif image.is_dir() or image.suffix.lower() in LIST_SUFFIXES:
        embedder = embedder_for_spec(model, loaded.spec, settings)
        batch = search_many(loaded, embedder, query_paths(image), k, settings, item_filter)
        if json_out:
            json_out.write_text(json.dumps([{"query": str(q.path), "error": q.error,
                                             "results": [r.__dict__ for r in q.results]} for q in batch], indent=2))
        return batch
    else:
        embedder = embedder_for_spec(model, loaded.spec, settings)
        query = load_image(image, settings.image)
        results = search_image(loaded, embedder, query, k, settings, text, item_filter)
        if sheet:
            from logo_similarity.reporting import QueryReport, write_html_sheet

            write_html_sheet([QueryReport(str(image), query, results)], sheet)
    if json_out:
        json_out.write_text(json.dumps([r.__dict__ for r in results], indent=2))
    return results


LIST_SUFFIXES = (".txt", ".list")  # a text file of query image paths, one per line


@dataclass
class BatchQuery:
    path: Path
    results: list[SearchResult] = field(default_factory=list)
    error: str | None = None  # why this image was not searched


def query_paths(source: Path) -> list[Path]:
    """The images of a folder (recursively, sorted), or the paths listed in a text file (relative to it)."""
    if source.is_dir():
        found = sorted(p for p in source.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    else:
        lines = [line.strip() for line in source.read_text(encoding="utf-8").splitlines()]
        found = [source.parent / line for line in lines if line and not line.startswith("#")]
    if not found:
        raise typer.BadParameter(f"{source}: no query images")
    return found


def search_many(index: SearchIndex, embedder, paths: list[Path], k: int, settings,
                item_filter: ItemFilter) -> list[BatchQuery]:
    """Every image searched as ``logo-sim search IMAGE`` would search it, ``model.batch_size`` images embedded
    at a time (``run_queries``); an unreadable image is reported and skipped, the others searched."""
    from tqdm import tqdm

    index.check_compatible(embedder.spec)
    out = [BatchQuery(p) for p in paths]
    size = settings.model.batch_size
    with tqdm(total=len(out), desc="searching", unit="query") as progress:
        for start in range(0, len(out), size):
            chunk, images = out[start:start + size], []
            for query in chunk:
                try:
                    images.append((query, load_image(query.path, settings.image)))
                except (ImageLoadError, OSError) as exc:
                    query.error = str(exc)
            outcomes = run_queries(index, embedder, [Query(image=im, k=k, filter=item_filter) for _, im in images],
                                   settings)
            for (query, _), outcome in zip(images, outcomes):
                query.results = outcome.results
            progress.update(len(chunk))
    return out


def evaluate(
    bench: Annotated[Optional[Path], typer.Option(help="LogoBench-format folder (gallery.jsonl, queries.jsonl)")] = None,
    vienna: Annotated[Optional[Path], typer.Option(help="L3D metadata: Vienna level-2 codes as ground truth")] = None,
    model: ModelOpt = None,
    pooling: PoolingOpt = None,
    task: Annotated[Optional[list[str]], typer.Option(help="only these tasks (repeatable)")] = None,
    text_mask: TextMaskOpt = None,
    max_queries: Annotated[int, typer.Option(help="queries sampled for --vienna")] = 1000,
    rerank: Annotated[Optional[bool], typer.Option("--rerank/--no-rerank", help="stage-2 re-ranking (default: config)")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="write the report as JSON here")] = None,
    config: ConfigOpt = None,
) -> dict[str, Any]:
    """Measure retrieval quality: recall@k, mAP@100 per task, latency p50/p99 (and NAR for --vienna)."""
    if (bench is None) == (vienna is None):
        raise typer.BadParameter("give exactly one of --bench or --vienna")
    settings = command_settings(config, pooling, text_mask)
    embedder = load_embedder(model, settings)
    if bench is not None:
        from logo_similarity.evaluation import evaluate_logobench

        report = evaluate_logobench(bench, embedder, settings, tasks=task, rerank=rerank)
    else:
        from logo_similarity.evaluation import evaluate_vienna

        report = evaluate_vienna(vienna, embedder, settings, max_queries=max_queries)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report, indent=2))
    return report

