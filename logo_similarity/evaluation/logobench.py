"""Evaluate an embedder on a LogoBench-format benchmark (see ../shared/logobench/README.md for the format).

The gallery is indexed exactly as ``logo-sim index`` would; each query's ``ignore`` ids are removed from its
ranking before scoring; metrics are reported per task, never pooled.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
from loguru import logger

from logo_similarity.config import Settings
from logo_similarity.datasets import DatasetError, LogoRecord
from logo_similarity.embeddings import Embedder
from logo_similarity.evaluation.composite import by_style
from logo_similarity.evaluation.ranking import QuerySet, rank_queries, task_metrics
from logo_similarity.preprocessing import load_image
from logo_similarity.indexing import BuildReport, build_with_settings, embed_records
from logo_similarity.retrieval.index import SearchIndex
from logo_similarity.utils.timing import percentiles_ms, stage_percentiles


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise DatasetError(f"benchmark file missing: {path}")
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_benchmark(bench: Path) -> tuple[list[LogoRecord], list[dict[str, Any]]]:
    gallery = [
        LogoRecord(key=row["id"], path=bench / row["file"], text=row.get("text"))
        for row in _read_jsonl(bench / "gallery.jsonl")
    ]
    return gallery, _read_jsonl(bench / "queries.jsonl")


def measure_latency(index: SearchIndex, embedder: Embedder, paths: list[Path], k: int, settings: Settings,
                    rerank: bool = False) -> tuple[dict[str, float], dict[str, dict[str, float]] | None]:
    """End-to-end single-query latency, one query at a time: decode + normalise + embed + search, and with
    ``rerank`` the whole query path (OCR of the query, stage 2). Returns its percentiles and, re-ranked, those
    of each stage (``utils.timing.query_stages``: decode, ocr, embed, stage1, spatial, text, fuse)."""
    from logo_similarity.search.query import Query, embed_query, run_query

    samples, laps = [], []
    for path in paths:
        start = time.perf_counter()
        image = load_image(path, settings.image)
        decoded = time.perf_counter()
        if rerank:
            outcome = run_query(index, embedder, Query(image=image, k=k, rerank=True), settings)
            laps.append({"decode": (decoded - start) * 1000.0, **outcome.timings_ms})
        else:
            index.search(embed_query(embedder, image), k)
        samples.append(time.perf_counter() - start)
    return percentiles_ms(samples), (stage_percentiles(laps) if rerank else None)


def build_gallery(bench: Path, embedder: Embedder, settings: Settings, rerank: bool) -> tuple[SearchIndex, BuildReport]:
    """The benchmark's gallery indexed as ``logo-sim index`` would (with stage-2 data when re-ranking)."""
    gallery, _ = load_benchmark(bench)
    # exact search: measure the embedder, not the ANN
    index, report = build_with_settings(gallery, embedder, settings, factory="Flat", stage2=rerank)
    if report.rejects:
        raise DatasetError(f"{len(report.rejects)} gallery images could not be read, e.g. {report.rejects[0]}")
    return index, report


def evaluate_logobench(
    bench: str | Path, embedder: Embedder, settings: Settings, tasks: list[str] | None = None,
    rerank: bool | None = None,
) -> dict[str, Any]:
    bench = Path(bench)
    rerank = settings.search.rerank if rerank is None else rerank
    _, query_rows = load_benchmark(bench)
    if tasks:
        query_rows = [q for q in query_rows if q["task"] in tasks]
    index, report = build_gallery(bench, embedder, settings, rerank)
    key_to_id = {meta["key"]: item_id for item_id, meta in index.metadata.items()}
    if rerank:
        return _evaluate_reranked(index, report, embedder, settings, bench, query_rows, key_to_id)

    # Queries share image files (cross_design reuses cross_set images): embed each file once.
    files = sorted({q["file"] for q in query_rows})
    file_records = [LogoRecord(key=f, path=bench / f) for f in files]
    file_vectors = np.zeros((len(files), embedder.spec.dim), dtype=np.float32)
    start = time.perf_counter()
    for batch in embed_records(
        file_records, embedder, settings.image, settings.model.batch_size, settings.index.workers, desc="queries"
    ):
        if batch.rejects:
            raise DatasetError(f"query image unreadable: {batch.rejects[0]}")
        file_vectors[batch.positions] = batch.vectors
    query_embed_s = time.perf_counter() - start
    row_of = {f: i for i, f in enumerate(files)}

    queries = QuerySet(
        vectors=file_vectors[[row_of[q["file"]] for q in query_rows]],
        tasks=[q["task"] for q in query_rows],
        relevant=[{key_to_id[r] for r in q["relevant"] if r in key_to_id} for q in query_rows],
        ignore=[{key_to_id[r] for r in q.get("ignore") or [] if r in key_to_id} for q in query_rows],
    )
    depth = max(max(settings.eval.ks), settings.eval.map_at)
    start = time.perf_counter()
    rankings = rank_queries(index, queries, depth)
    search_s = time.perf_counter() - start
    results = task_metrics(rankings, queries, settings.eval.ks, settings.eval.map_at)
    styles = by_style(bench, query_rows, rankings, queries.relevant, queries.ignore, settings.eval.ks,
                      settings.eval.map_at)

    sample = random.Random(0).sample(files, min(settings.eval.latency_queries, len(files)))
    latency, _ = measure_latency(index, embedder, [bench / f for f in sample], settings.search.k, settings)
    logger.info("evaluated {} queries over {} gallery images", len(query_rows), len(index))
    return {
        "tasks": results,
        **({"by_style": styles} if styles else {}),
        "latency_ms": latency,
        "model": embedder.spec.to_dict(),
        "gallery": len(index),
        "throughput_img_per_s": {
            "gallery": report.images_per_s,
            "queries": len(files) / query_embed_s if query_embed_s else None,
        },
        "batch_search_ms_per_query": 1000 * search_s / max(1, len(query_rows)),
        "reranked": False,
    }


def _evaluate_reranked(index, report, embedder, settings: Settings, bench: Path, query_rows, key_to_id) -> dict[str, Any]:
    from logo_similarity.evaluation.rerank_eval import collect, rankings, task_report

    depth = max(max(settings.eval.ks), settings.eval.map_at)
    extra = max((len(q.get("ignore") or []) for q in query_rows), default=0)
    collected = collect(index, embedder, settings, bench, query_rows, key_to_id, k=depth + extra)
    ranked = rankings(collected, depth)
    results = task_report(collected, ranked, settings.eval.ks, settings.eval.map_at)
    styles = by_style(bench, query_rows, ranked, [q.relevant for q in collected.queries],
                      [q.ignore for q in collected.queries], settings.eval.ks, settings.eval.map_at)
    files = sorted({q["file"] for q in query_rows})
    sample = random.Random(0).sample(files, min(settings.eval.latency_queries, len(files)))
    latency, stages = measure_latency(index, embedder, [bench / f for f in sample], settings.search.k, settings,
                                      rerank=True)
    return {
        "tasks": results,
        **({"by_style": styles} if styles else {}),
        "reranked": True,
        "rerank": settings.rerank.model_dump(mode="json"),
        "rerank_ms": percentiles_ms([q.rerank_ms / 1000.0 for q in collected.queries]),
        "query_names_read_by_ocr": {"files": collected.files, "with_name": collected.ocr_named},
        "latency_ms": latency,
        "timings_ms": stages,  # the same queries' latency split per stage
        "model": embedder.spec.to_dict(),
        "gallery": len(index),
        "local_bytes_per_item": index.local.bytes_per_item if index.local is not None else None,
        "throughput_img_per_s": {"gallery": report.images_per_s},
    }
