"""Query an index with an image: the same preprocessing as at index time, then exact search."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from logo_similarity.embeddings import Embedder
from logo_similarity.retrieval.index import SearchIndex
from logo_similarity.text.similarity import text_similarity_many


@dataclass(frozen=True)
class SearchResult:
    rank: int
    id: int
    score: float
    key: str
    file: str
    text: str | None
    vienna_codes: list[str] = field(default_factory=list)
    year: int | None = None
    components: dict[str, float | None] = field(default_factory=dict)

    @classmethod
    def from_hit(cls, rank: int, score: float, meta: dict[str, Any], **components: float | None) -> SearchResult:
        return cls(
            rank=rank,
            id=int(meta["id"]),
            score=float(score),
            key=meta["key"],
            file=meta["file"],
            text=meta.get("text"),
            vienna_codes=list(meta.get("vienna_codes") or []),
            year=meta.get("year"),
            components=components,
        )


def embed_query(embedder: Embedder, image: Image.Image) -> np.ndarray:
    return embedder.embed_batch(embedder.preprocess(image).array[None])


def search_image(
    index: SearchIndex, embedder: Embedder, image: Image.Image, k: int, text: str | None = None,
    phonetic_weight: float = 0.6,
) -> list[SearchResult]:
    """Nearest logos by shape; with ``text`` (the mark's name) each result also gets its name similarity."""
    index.check_compatible(embedder.spec)
    hits = index.search(embed_query(embedder, image), k)
    rows = [(score, int(item)) for score, item in zip(hits.scores[0], hits.ids[0]) if item >= 0]
    name_scores = [None] * len(rows)
    if text:
        sims = text_similarity_many(text, [index.metadata[i].get("text") for _, i in rows], phonetic_weight)
        name_scores = [None if np.isnan(s) else float(s) for s in sims]
    return [
        SearchResult.from_hit(rank, score, index.metadata[item], image=float(score), text=name)
        for rank, ((score, item), name) in enumerate(zip(rows, name_scores), start=1)
    ]


def search_names(index: SearchIndex, text: str, k: int, candidates: int = 4000, phonetic_weight: float = 0.6):
    """Marks whose names sound or look like ``text`` (over the index's name metadata)."""
    names = index.name_index(phonetic_weight)
    return [
        SearchResult.from_hit(rank, hit.score, index.metadata[hit.id], text=hit.score, phonetic=hit.phonetic,
                              orthographic=hit.orthographic)
        for rank, hit in enumerate(names.search(text, k, candidates), start=1)
    ]
