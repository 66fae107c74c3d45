"""Query an index with an image: the same preprocessing as at index time, then exact search."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from logo_similarity.embeddings import Embedder
from logo_similarity.preprocessing import to_model_input
from logo_similarity.retrieval.index import SearchIndex


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

    @classmethod
    def from_hit(cls, rank: int, score: float, meta: dict[str, Any]) -> SearchResult:
        return cls(
            rank=rank,
            id=int(meta["id"]),
            score=float(score),
            key=meta["key"],
            file=meta["file"],
            text=meta.get("text"),
            vienna_codes=list(meta.get("vienna_codes") or []),
            year=meta.get("year"),
        )


def embed_query(embedder: Embedder, image: Image.Image) -> np.ndarray:
    return embedder.embed_batch(to_model_input(image, embedder.spec)[None])


def search_image(index: SearchIndex, embedder: Embedder, image: Image.Image, k: int) -> list[SearchResult]:
    index.check_compatible(embedder.spec)
    hits = index.search(embed_query(embedder, image), k)
    return [
        SearchResult.from_hit(rank, score, index.metadata[int(item)])
        for rank, (score, item) in enumerate(zip(hits.scores[0], hits.ids[0]), start=1)
        if item >= 0
    ]
