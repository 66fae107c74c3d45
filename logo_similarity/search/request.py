"""A query as the query path takes it (``query.py``), and the error for one it cannot search with."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from logo_similarity.retrieval.filters import ItemFilter


class QueryError(ValueError):
    """The query's values cannot be searched with (the message says why)."""


@dataclass(frozen=True)
class Query:
    image: Image.Image | None = None
    vector: np.ndarray | None = None  # a stored (index-space) vector instead of an image: search by id
    text: str | None = None
    k: int = 20
    filter: ItemFilter = ItemFilter()
    rerank: bool | None = None  # None: settings.search.rerank
    vienna_codes: tuple[str, ...] = ()  # the query mark's own codes (a component when re-ranking)
    cells: np.ndarray | None = None  # stored local features with ``vector`` (search by id)
    ink: np.ndarray | None = None
    ocr_text: str | None = None  # a name already read from this query's image (e.g. by an earlier query_features)
    figure: np.ndarray | None = None  # with ``vector``: the figure's vector (index space) when the query mark has one
    elements: dict | None = None  # with ``vector``: what the split found in the query mark (``Elements.describe``)
    nice_classes: tuple[int, ...] = ()  # the query mark's goods and services (a component when re-ranking)
    # re-ranked results below this fused score are not wanted (a watch list's threshold): left out, and candidates
    # that cannot reach it are not spatially verified
    min_score: float | None = None
