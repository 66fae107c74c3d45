"""Filters run inside the FAISS search: a selective filter still returns k results when k exist."""

import numpy as np
import pytest

from logo_similarity.embeddings import ThumbnailEmbedder
from logo_similarity.retrieval import SearchIndex
from logo_similarity.retrieval import index as index_module


@pytest.mark.parametrize("factory", ["Flat", "IVF16,Flat", "HNSW16"])
@pytest.mark.parametrize("exact_max", [0, 10_000])  # through the id selector, and the exact path for small sets
def test_selective_filter_returns_k(factory, exact_max, monkeypatch):
    monkeypatch.setattr(index_module, "EXACT_FILTER_MAX", exact_max)
    rng = np.random.default_rng(0)
    spec = ThumbnailEmbedder(side=4).spec
    vectors = rng.normal(size=(2000, spec.dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(2000)
    index = SearchIndex.from_vectors(spec, ids, vectors, [{"key": str(i), "file": ""} for i in ids], factory)
    allowed = np.arange(0, 2000, 97)  # 21 items, about 1 %
    hits = index.search(vectors[5], 10, allowed=allowed)
    found = hits.ids[0]
    assert len(found[found >= 0]) == 10 and set(found.tolist()) <= set(allowed.tolist())
    exact = allowed[np.argsort(-(vectors[allowed] @ vectors[5]))[:10]]
    if factory == "Flat" or exact_max:
        assert found.tolist() == exact.tolist()
