"""Query commands: ``search`` (an image and/or a name against an index) and ``eval`` (a benchmark's metrics)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from logo_similarity.commands.options import ConfigOpt, IndexOpt, ModelOpt, PoolingOpt, TextMaskOpt, command_settings
from logo_similarity.embeddings import load_embedder
from logo_similarity.embeddings.loading import embedder_for_spec
from logo_similarity.preprocessing import load_image
from logo_similarity.retrieval import SearchIndex, SearchResult
from logo_similarity.retrieval.filters import ItemFilter
from logo_similarity.search import Query, QueryError, run_query, search_image


def search(
    image: Annotated[Optional[Path], typer.Argument(help="query logo image")] = None,
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
    """Find the indexed marks that look like IMAGE and/or sound like --text."""
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

