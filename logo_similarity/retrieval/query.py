"""A full query: image and/or name, crop box, metadata filters, optional composite re-ranking, stage timings.

Stage 1 fetches candidates: the image's nearest neighbours (``k``, or ``candidates`` when filtering or
re-ranking, so filters do not starve the result list), and with a name, the sound-alike names when there is
no image or when re-ranking (an examiner wants marks that sound alike even where they do not look alike).
Each candidate then gets every component score that applies: ``image`` (cosine to the query, computed
from stored vectors for name-only candidates) and ``text`` (name similarity). Without re-ranking, results
are ordered by the image score (or the name score for a name-only query); with it, by ``composite``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image

from logo_similarity.embeddings import Embedder
from logo_similarity.reranking import composite_scores
from logo_similarity.retrieval.filters import ItemFilter
from logo_similarity.retrieval.index import SearchIndex
from logo_similarity.retrieval.search import SearchResult
from logo_similarity.text.normalize import phonetic_letters
from logo_similarity.text.similarity import text_similarity_many


class QueryError(ValueError):
    """The query's values cannot be searched with (the message says why)."""


@dataclass(frozen=True)
class Query:
    image: Image.Image | None = None
    vector: np.ndarray | None = None  # a stored (index-space) vector instead of an image: search by id
    text: str | None = None
    k: int = 20
    filter: ItemFilter = ItemFilter()
    rerank: bool = False


@dataclass
class QueryOutcome:
    results: list[SearchResult]
    timings_ms: dict[str, float] = field(default_factory=dict)
    candidates: int = 0
    reranked: bool = False


def crop_box(image: Image.Image, box: tuple[int, int, int, int], min_side: int) -> Image.Image:
    """The region (left, top, right, bottom) of ``image``, in pixels; QueryError when it is not inside it."""
    left, top, right, bottom = box
    if min(box) < 0 or right > image.width or bottom > image.height:
        raise QueryError(f"box {box} is outside the {image.width}x{image.height} image")
    if right - left < min_side or bottom - top < min_side:
        raise QueryError(f"box {box} must be at least {min_side} px wide and high (right > left, bottom > top)")
    return image.crop(box)


class _Clock:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] = self.timings.get(stage, 0.0) + (now - self._last) * 1000.0
        self._last = now


def run_query(
    index: SearchIndex, embedder: Embedder | None, query: Query, candidates: int = 1000, image_weight: float = 0.6,
    name_candidates: int = 4000, phonetic_weight: float = 0.6,
) -> QueryOutcome:
    if query.image is None and query.vector is None and not query.text:
        raise QueryError("give an image, a name (text), or both")
    if query.text is not None and not phonetic_letters(query.text):
        raise QueryError(f"the name {query.text!r} has no letters or digits to compare")
    clock = _Clock()
    visual = query.image is not None or query.vector is not None
    fetch = max(query.k, candidates) if (query.filter.active or query.rerank) else query.k
    image_scores: dict[int, float] = {}
    projected = None
    if visual:
        if query.vector is not None:
            projected = np.asarray(query.vector, dtype=np.float32)[None]
        else:
            array = embedder.preprocess(query.image).array
            clock.lap("preprocess")
            raw = embedder.embed_batch(array[None])
            clock.lap("embed")
            projected = index.projection(raw) if index.projection is not None else raw
        hits = index.search(projected, fetch, projected=True)
        image_scores = {int(i): float(s) for s, i in zip(hits.scores[0], hits.ids[0]) if i >= 0}
        clock.lap("search")
    order = list(image_scores)
    text_scores: dict[int, float] = {}
    if query.text:
        if not visual or query.rerank:
            names = index.name_index(phonetic_weight)
            for hit in names.search(query.text, fetch, name_candidates):
                text_scores[hit.id] = hit.score
                if hit.id not in image_scores:
                    order.append(hit.id)
        missing = [i for i in order if i not in text_scores]
        sims = text_similarity_many(query.text, [index.metadata[i].get("text") for i in missing], phonetic_weight)
        text_scores.update({i: float(s) for i, s in zip(missing, sims) if not np.isnan(s)})
        clock.lap("text")
    if visual:
        extra = [i for i in order if i not in image_scores]
        if extra:  # name-only candidates: their image score from stored vectors
            sims = index.vectors(np.asarray(extra)) @ projected[0]
            image_scores.update({i: float(s) for i, s in zip(extra, sims)})
    kept = [i for i in order if query.filter.accepts(index.metadata[i])] if query.filter.active else order
    clock.lap("filter")
    img = np.array([image_scores.get(i, np.nan) for i in kept])
    txt = np.array([text_scores.get(i, np.nan) for i in kept])
    components = {"image": img} if visual else {}
    if query.text:
        components["text"] = txt
    reranked = bool(query.rerank and len(components) > 1)
    if reranked:
        score = composite_scores(components, {"image": image_weight, "text": 1.0 - image_weight})
    else:
        score = img if visual else txt
    scored = [r for r in range(len(kept)) if not np.isnan(score[r])]
    ranked = sorted(scored, key=lambda r: (-score[r], kept[r]))[: query.k]
    results = []
    for rank, r in enumerate(ranked, start=1):
        parts = {name: (None if np.isnan(v[r]) else float(v[r])) for name, v in components.items()}
        if reranked:
            parts["composite"] = float(score[r])
        results.append(SearchResult.from_hit(rank, float(score[r]), index.metadata[kept[r]], **parts))
    clock.lap("rank")
    return QueryOutcome(results, clock.timings, candidates=len(order), reranked=reranked)


def search_image(
    index: SearchIndex, embedder: Embedder, image: Image.Image, k: int, text: str | None = None,
    phonetic_weight: float = 0.6,
) -> list[SearchResult]:
    """Nearest logos by shape; with ``text`` (the mark's name) each result also gets its name similarity.

    The CLI's and the demo's query: ``run_query`` without filters or re-ranking. A name without letters gives
    no name scores (None) rather than an error, as a side remark to an image query.
    """
    index.check_compatible(embedder.spec)
    name = text if text and phonetic_letters(text) else None
    outcome = run_query(index, embedder, Query(image=image, text=name, k=k), phonetic_weight=phonetic_weight)
    return [replace(r, components={"image": r.components["image"], "text": r.components.get("text")})
            for r in outcome.results]
