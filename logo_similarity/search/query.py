"""The one query path, used by the API, the CLI, the demo and ``logo-sim eval``: stages in order.

1. Query features: the image's embedding (and its local features when the index stores them); the name given,
   or, when none is and re-ranking is on, the name read from the image by OCR (marked as such).
2. Stage 1 (``retrieval``): the image's nearest neighbours, filters applied inside the FAISS search so a
   selective Vienna/year filter still yields k results; with a name, the sound-alike names as well.
3. Stage 2 (``reranking``): every component score over the candidates, then one fused score.
4. Results carry each component, where the text came from, and the spatial match's cell pairs; re-ranked ones
   also the calibrated probability of a conflict and its tier (``reranking/calibration.py``).

Without re-ranking, results are ordered by the image score (or the name score for a name-only query).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image

from logo_similarity.config import RerankSettings, Settings, TextSettings
from logo_similarity.embeddings import Embedder
from logo_similarity.reranking.calibration import conflict_scores
from logo_similarity.reranking.rerank import QueryFeatures, rerank_candidates
from logo_similarity.retrieval.filters import ItemFilter
from logo_similarity.retrieval.index import SearchIndex
from logo_similarity.retrieval.results import SearchResult
from logo_similarity.search.cache import QueryCache, image_digest
from logo_similarity.search.request import Query, QueryError
from logo_similarity.search.features import query_features_batch
from logo_similarity.text.normalize import phonetic_letters
from logo_similarity.text.read_name import name_variants
from logo_similarity.utils.timing import Stopwatch


@dataclass
class QueryOutcome:
    results: list[SearchResult]
    timings_ms: dict[str, float] = field(default_factory=dict)
    candidates: int = 0
    reranked: bool = False
    query_text: str | None = None
    query_text_source: str | None = None  # "given" or "ocr"
    spatial_scored: int = 0  # candidates spatially verified


def crop_box(image: Image.Image, box: tuple[int, int, int, int], min_side: int) -> Image.Image:
    """The region (left, top, right, bottom) of ``image``, in pixels; QueryError when it is not inside it."""
    left, top, right, bottom = box
    if min(box) < 0 or right > image.width or bottom > image.height:
        raise QueryError(f"box {box} is outside the {image.width}x{image.height} image")
    if right - left < min_side or bottom - top < min_side:
        raise QueryError(f"box {box} must be at least {min_side} px wide and high (right > left, bottom > top)")
    return image.crop(box)


def fetch_candidates(index: SearchIndex, features: QueryFeatures, query: Query, fetch: int, text: TextSettings,
                     rerank: RerankSettings, clock: Stopwatch,
                     figure_fetch: int = 0) -> tuple[list[int], dict[int, float], dict[int, float]]:
    """Stage 1: candidate ids in order of discovery, the image score of those found by image and the name
    score of those found by name (a name read by OCR fetches fewer: it is a hint, not the examiner's word).
    When re-ranking an index that stores figures, ``figure_fetch`` more per figure search (see
    ``_add_figure_candidates``)."""
    allowed = None
    if query.filter.active:
        allowed = index.allowed_ids(query.filter)
    image_scores: dict[int, float] = {}
    if features.vector is not None and (allowed is None or len(allowed)):
        hits = index.search(features.vector[None], fetch, projected=True, allowed=allowed)
        image_scores = {i: s for s, i in zip(hits.scores[0].tolist(), hits.ids[0].tolist()) if i >= 0}
        clock.lap("search")
    order = list(image_scores)
    if index.figures is not None and query.rerank is not False and figure_fetch and features.vector is not None:
        _add_figure_candidates(index, features, query, figure_fetch, order, allowed)
        clock.lap("figures")
    text_scores: dict[int, float] = {}
    if features.name and (features.vector is None or query.rerank is not False):
        names = index.name_index(text.phonetic_weight)
        seen = set(order)
        ocr = features.name_source == "ocr"
        count = min(fetch, rerank.ocr_name_fetch) if ocr else fetch
        budget = min(text.name_candidates, 4 * count) if ocr else text.name_candidates
        variants = name_variants(features.name) if ocr else [features.name]
        for variant in variants:
            for hit in names.search(variant, count, budget, text.name_rescore):
                if allowed is not None and not query.filter.accepts(index.metadata[hit.id]):
                    continue
                text_scores[hit.id] = max(text_scores.get(hit.id, 0.0), hit.score)  # best variant, as stage 2
                if hit.id not in seen:
                    order.append(hit.id)
                    seen.add(hit.id)
        clock.lap("names")
    return order, image_scores, text_scores


def _add_figure_candidates(index: SearchIndex, features: QueryFeatures, query: Query, fetch: int, order: list[int],
                           allowed: np.ndarray | None) -> None:
    """Stage 1 by element: the query mark against the composites' figures (a plain device finds the composites
    that carry it), and the query's figure, when it has one, against whole marks and figures (a device under
    big lettering finds its plain mark and its other composites). New ids are appended to ``order``."""
    seen = set(order)
    searches = [index.figures.search(features.vector[None], fetch)]
    if features.figure is not None:
        hits = index.search(features.figure[None], fetch, projected=True, allowed=allowed)
        searches += [(hits.scores, hits.ids), index.figures.search(features.figure[None], fetch)]
    for _, ids in searches:
        for item in ids[0].tolist():
            if item < 0 or item in seen or item not in index.metadata:
                continue
            if allowed is not None and not query.filter.accepts(index.metadata[item]):
                continue
            order.append(item)
            seen.add(item)


def check_query(query: Query) -> None:
    """QueryError when ``query`` cannot be searched with (the message says why)."""
    if query.image is None and query.vector is None and not query.text:
        raise QueryError("give an image, a name (text), or both")
    if query.text is not None and not phonetic_letters(query.text):
        raise QueryError(f"the name {query.text!r} has no letters or digits to compare")


def run_query(index: SearchIndex, embedder: Embedder | None, query: Query, settings: Settings,
              cache: QueryCache | None = None) -> QueryOutcome:
    """``query`` over ``index``; ``cache`` (of this index: ``search/cache.py``) keeps query images' features."""
    return run_queries(index, embedder, [query], settings, cache)[0]


def run_queries(index: SearchIndex, embedder: Embedder | None, queries: list[Query], settings: Settings,
                cache: QueryCache | None = None) -> list[QueryOutcome]:
    """Several queries at once: their images embedded (and their figures) in one batch per re-ranking setting,
    then each searched and re-ranked as ``run_query`` does it alone, with the same results. The batch is split
    into ``search.batch_workers`` parts run side by side (contiguous slices; see the end for a cache): a query's
    OCR and embedding are mostly onnxruntime, which releases the GIL, and on small images one session uses two
    cores poorly (2 cores: two parts 8.6 queries/s against 5.9 for the whole batch in one thread, the same
    results). A part's feature time
    is shared out equally among its queries' ``timings_ms``. With a ``cache``, an image the batch repeats goes to
    one part, computed once, and the parts hold equal numbers of distinct images (``batch_parts``)."""
    for query in queries:
        check_query(query)
    workers = min(settings.search.batch_workers, len(queries))
    if workers > 1:
        digests = image_digests(queries) if cache is not None else None  # hashed once: the cache keys reuse them
        parts = batch_parts(queries, workers, digests)
        with ThreadPoolExecutor(len(parts), thread_name_prefix="query-batch") as pool:
            done = pool.map(lambda part: _run_part(index, embedder, [queries[i] for i in part], settings, cache,
                                                   [digests[i] for i in part] if digests else None), parts)
            outcomes: list[QueryOutcome | None] = [None] * len(queries)
            for part, answered in zip(parts, done):
                for i, outcome in zip(part, answered):
                    outcomes[i] = outcome
            return outcomes
    return _run_part(index, embedder, queries, settings, cache)


def image_digests(queries: list[Query]) -> list[str | None]:
    """Each query's ``image_digest`` (None for a query without an image to compute)."""
    return [image_digest(q.image) if q.image is not None and q.vector is None else None for q in queries]


def batch_parts(queries: list[Query], workers: int, digests: list[str | None] | None) -> list[list[int]]:
    """The batch's query positions in at most ``workers`` parts, in order: contiguous slices of equal length, or,
    given the images' ``digests``, runs of equal numbers of distinct images, a repeated image's queries all in its
    first one's part (the work is computing images: a part whose repeats cost nothing would otherwise wait)."""
    groups: dict[object, list[int]] = {}
    for i in range(len(queries)):
        groups.setdefault(digests[i] if digests and digests[i] else i, []).append(i)
    runs = list(groups.values())
    size = -(-len(runs) // workers)
    return [sorted(i for run in runs[at:at + size] for i in run) for at in range(0, len(runs), size)]


def _run_part(index: SearchIndex, embedder: Embedder | None, queries: list[Query], settings: Settings,
              cache: QueryCache | None, digests: list[str | None] | None = None) -> list[QueryOutcome]:
    flags = [settings.search.rerank if q.rerank is None else q.rerank for q in queries]
    features: list = [None] * len(queries)
    shared: list[dict[str, float]] = [{} for _ in queries]
    for rerank in sorted(set(flags)):
        rows = [i for i, flag in enumerate(flags) if flag == rerank]
        clock = Stopwatch()
        for i, f in zip(rows, query_features_batch(index, embedder, [queries[i] for i in rows], settings, rerank,
                                                   clock, cache, [digests[i] for i in rows] if digests else None)):
            features[i] = f
            shared[i] = {stage: ms / len(rows) for stage, ms in clock.timings.items()}
    return [_search(index, features[i], replace(queries[i], rerank=flags[i]), settings, shared[i])
            for i in range(len(queries))]


def _search(index: SearchIndex, features: QueryFeatures, query: Query, settings: Settings,
            timings: dict[str, float]) -> QueryOutcome:
    """Stages 1 and 2 of one query whose features are known (``query.rerank`` resolved)."""
    clock = Stopwatch()
    rerank = bool(query.rerank)
    visual = features.vector is not None
    fetch = max(query.k, settings.search.candidates) if (query.filter.active or rerank or not visual) else query.k
    order, image_scores, text_scores = fetch_candidates(index, features, query, fetch, settings.text,
                                                        settings.rerank, clock,
                                                        settings.elements.figure_fetch if settings.elements.enabled else 0)
    ranked = rerank_candidates(index, features, np.asarray(order, dtype=np.int64), image_scores, settings,
                               fuse=rerank, k=query.k, text_found=text_scores, floor=query.min_score)
    clock.lap("rerank")
    conflict = None
    if ranked.fused and ranked.rows:
        conflict = conflict_scores(np.array([row.score for row in ranked.rows]), settings.calibration, settings.rerank,
                                   whitened=index.projection is not None)
    results = [
        SearchResult.from_hit(rank, row.score, index.metadata[row.id], explanation=row.explanation,
                              conflict=None if conflict is None else (conflict[0][rank - 1], conflict[1][rank - 1]),
                              **row.components)
        for rank, row in enumerate(ranked.rows, start=1)
    ]
    timings = {**timings, **clock.timings, **{f"rerank.{k}": v for k, v in ranked.timings_ms.items()}}
    return QueryOutcome(results, timings, candidates=len(order), reranked=ranked.fused,
                        query_text=features.name, query_text_source=features.name_source,
                        spatial_scored=ranked.spatial_scored)


def embed_query(embedder: Embedder, image: Image.Image) -> np.ndarray:
    """The raw (not PCA-projected) embedding of one query image, prepared as the index's images were."""
    return embedder.embed_batch(embedder.preprocess(image).array[None])


def search_image(index: SearchIndex, embedder: Embedder, image: Image.Image, k: int, settings: Settings,
                 text: str | None = None, item_filter: ItemFilter = ItemFilter()) -> list[SearchResult]:
    """The CLI's and the demo's image query: ``run_query`` with the settings' re-ranking. A name without
    letters is ignored (no name score) rather than an error, as a side remark to an image query."""
    index.check_compatible(embedder.spec)
    name = text if text and phonetic_letters(text) else None
    return run_query(index, embedder, Query(image=image, text=name, k=k, filter=item_filter), settings).results
