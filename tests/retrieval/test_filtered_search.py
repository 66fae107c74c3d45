"""Filters run inside the FAISS search: a selective filter still returns k results when k exist."""

import numpy as np
import pytest

from logo_similarity.embeddings import ThumbnailEmbedder
from logo_similarity.retrieval import SearchIndex
from logo_similarity.retrieval import index as index_module


def random_index(n: int, factory: str, seed: int) -> tuple[SearchIndex, np.ndarray]:
    """``n`` random unit vectors indexed with ``factory`` (ids 0..n-1), and the vectors."""
    spec = ThumbnailEmbedder(side=4).spec
    vectors = np.random.default_rng(seed).normal(size=(n, spec.dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(n)
    return SearchIndex.from_vectors(spec, ids, vectors, [{"key": str(i), "file": ""} for i in ids], factory), vectors


@pytest.mark.parametrize("factory", ["Flat", "IVF16,Flat", "HNSW16"])
@pytest.mark.parametrize("exact_max", [0, 10_000])  # through the id selector, and the exact path for small sets
def test_selective_filter_returns_k(factory, exact_max, monkeypatch):
    monkeypatch.setattr(index_module, "EXACT_FILTER_MAX", exact_max)
    index, vectors = random_index(2000, factory, seed=0)
    allowed = np.arange(0, 2000, 97)  # 21 items, about 1 %
    hits = index.search(vectors[5], 10, allowed=allowed)
    found = hits.ids[0]
    assert len(found[found >= 0]) == 10 and set(found.tolist()) <= set(allowed.tolist())
    exact = allowed[np.argsort(-(vectors[allowed] @ vectors[5]))[:10]]
    if factory == "Flat" or exact_max:
        assert found.tolist() == exact.tolist()


@pytest.mark.parametrize("factory, params", [("IVF64,Flat", {"nprobe": 1}), ("HNSW16", {"efSearch": 16})])
def test_a_rare_filter_gets_k_results_from_a_narrow_ann(factory, params, monkeypatch):
    """A filter passing ~1 % of the items, an ANN tuned narrow (one IVF list of 64; a small HNSW beam): the lists
    scanned hold too few allowed items, so the IVF scans as many as the filter needs and any query still short
    is scored exactly; every query gets k allowed results."""
    monkeypatch.setattr(index_module, "EXACT_FILTER_MAX", 0)
    index, vectors = random_index(4000, factory, seed=1)
    index.search_params = params
    allowed = np.sort(np.random.default_rng(1).choice(4000, 40, replace=False))
    hits = index.search(vectors[:50], 20, projected=True, allowed=allowed)
    assert ((hits.ids >= 0).sum(axis=1) == 20).all()
    assert set(hits.ids.ravel().tolist()) <= set(allowed.tolist())
    if factory.startswith("IVF"):
        assert index_module.filtered_params(index.index, params, 20, 40) == {"nprobe": 64}  # every list
        assert index_module.filtered_params(index.index, params, 20, 4000) == {"nprobe": 1}  # no filter: as tuned


def test_the_id_bitmap_selects_exactly_the_allowed_ids():
    """Ids above the largest allowed one, and ids far beyond the bitmap, are never selected."""
    from logo_similarity.retrieval.ann import allowed_selector

    allowed = np.array([0, 3, 8, 9, 700, 1001], dtype=np.int64)
    selector, bitmap = allowed_selector(allowed)
    members = [i for i in range(5000) if selector.is_member(i)]
    assert members == allowed.tolist() and not selector.is_member(10**9)
    sparse, kept = allowed_selector(np.array([5, 10**12], dtype=np.int64))  # too sparse for a bitmap: a hash set
    assert kept is None and sparse.is_member(10**12) and not sparse.is_member(6)
