"""LogoBench through the one query path with re-ranking: per-query rankings, component scores, and timings.

Evaluation honesty: a query carries only its image. Its vector, local features and OCR'd name come from
``query_features`` on the image, once per file (cross_set and cross_design share files); no gallery name,
brand or code of the query reaches the ranking. Each query then runs ``run_query`` over all ``candidates``,
so the components of every candidate are kept for fitting the fusion (``scripts/06b_fit_rerank.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from loguru import logger
from tqdm import tqdm

from logo_similarity.config import RerankSettings, Settings
from logo_similarity.embeddings import Embedder
from logo_similarity.preprocessing import load_image
from logo_similarity.reranking.expansion import alpha_query_expansion
from logo_similarity.reranking.fusion import best_rows, fused_scores, ranking
from logo_similarity.reranking.spatial import patch_max_similarity
from logo_similarity.retrieval.index import SearchIndex
from logo_similarity.search.features import query_features
from logo_similarity.search.query import Query, run_query

COMPONENTS = ("image", "spatial", "text", "vienna", "figure")


@dataclass
class RankedQuery:
    """One query's candidates in the order the query path ranked them, with every component per candidate."""

    task: str
    ids: np.ndarray
    components: dict[str, np.ndarray]  # name -> (n,) NaN where missing; plus measured variants
    relevant: set[int]
    ignore: set[int]
    text_source: str | None = None
    rerank_ms: float = 0.0
    group: str | None = None  # for analysis, e.g. a composite benchmark's style pair (evaluation/composite.py)


@dataclass
class Collected:
    queries: list[RankedQuery] = field(default_factory=list)
    ocr_named: int = 0
    files: int = 0


def collect(index: SearchIndex, embedder: Embedder, settings: Settings, bench: Path, rows: list[dict[str, Any]],
            key_to_id: dict[str, int], variants: bool = False, k: int | None = None) -> Collected:
    """Run every query of ``rows`` through ``run_query`` (re-ranking on) for its top ``k`` (default: all
    candidates, which fitting needs; an evaluation asks for what it scores)."""
    files = sorted({q["file"] for q in rows})
    features = {}
    for f in tqdm(files, desc="query features", unit="img"):
        image = load_image(bench / f, settings.image)
        features[f] = query_features(index, embedder, Query(image=image), settings, rerank=True)
    out = Collected(files=len(files), ocr_named=sum(1 for f in features.values() if f.name))
    for q in tqdm(rows, desc="re-ranking", unit="query"):
        f = features[q["file"]]
        query = Query(vector=f.vector, cells=f.cells, ink=f.ink, ocr_text=f.name, rerank=True,
                      k=k or settings.search.candidates, figure=f.figure, elements=f.elements)
        outcome = run_query(index, embedder, query, settings)
        elapsed = outcome.timings_ms.get("rerank", float("nan"))
        ids = np.array([r.id for r in outcome.results], dtype=np.int64)
        comps = {n: np.array([np.nan if r.components.get(n) is None else r.components[n] for r in outcome.results])
                 for n in COMPONENTS}
        if variants:
            comps.update(_variants(index, f, ids, comps["image"], settings.rerank))
        out.queries.append(RankedQuery(
            q["task"], ids, comps, {key_to_id[r] for r in q["relevant"] if r in key_to_id},
            {key_to_id[r] for r in q.get("ignore") or [] if r in key_to_id}, f.name_source, elapsed,
        ))
    logger.info("{} queries re-ranked; {} of {} query images had a name read by OCR", len(out.queries),
                out.ocr_named, out.files)
    return out


def _variants(index: SearchIndex, f, ids: np.ndarray, image: np.ndarray, rerank: RerankSettings) -> dict[str, np.ndarray]:
    """Alternatives measured against the configured components: patch-max spatial, alpha-QE image scores."""
    extra = {}
    top = best_rows(image, rerank.spatial_top)  # the candidates the configured spatial component scores
    pm = np.full(len(ids), np.nan)
    if index.local is not None and f.cells is not None and len(top):
        present, cells, ink = index.local.take(ids[top])
        pm[top[present]] = patch_max_similarity(f.cells, f.ink, cells, ink)
    extra["spatial_patch_max"] = pm
    vectors = index.vectors(ids).astype(np.float32)
    for n in (5, 10):
        query = alpha_query_expansion(f.vector, vectors, image, n, rerank.qe_alpha)
        extra[f"image_qe{n}"] = vectors @ query
    return extra


def rankings(collected: Collected, depth: int, weights: dict[str, float] | None = None,
             use: dict[str, str] | None = None, neutral: dict[str, float] | None = None,
             either: float = 0.0) -> list[list[int]]:
    """Top ``depth`` ids per query (ignored ids removed): the path's own order, or re-fused with ``weights``,
    ``neutral`` and ``either`` by the serving rule itself (``fused_scores`` and ``ranking``, as
    ``rerank_candidates``).

    ``use`` maps a fusion component to the collected column that plays it (e.g. image -> image_qe10).
    """
    out = []
    for q in collected.queries:
        if weights is None:
            order = q.ids
        else:
            columns = {name: q.components[(use or {}).get(name, name)] for name in COMPONENTS}
            order = q.ids[ranking(q.ids, fused_scores(columns, weights, neutral or {}, q.text_source, either))]
        out.append([int(i) for i in order if int(i) not in q.ignore][:depth])
    return out


def task_report(collected: Collected, ranked: list[list[int]], ks: tuple[int, ...], map_at: int):
    from logo_similarity.evaluation.ranking import QuerySet, task_metrics

    queries = QuerySet(np.zeros((len(collected.queries), 0)), [q.task for q in collected.queries],
                       [q.relevant for q in collected.queries], [q.ignore for q in collected.queries])
    return task_metrics(ranked, queries, ks, map_at)
