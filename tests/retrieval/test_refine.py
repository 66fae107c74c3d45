"""Refinement: PQ candidates re-scored from 8-bit codes reach the recall PQ alone cannot, and survive save/load."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from logo_similarity.embeddings.spec import ModelSpec
from logo_similarity.retrieval import SearchIndex
from logo_similarity.retrieval.ann import recall_at, search_with
from logo_similarity.retrieval.refine import RefineCodes, refine_kind

DIM = 64
SPEC = ModelSpec("synthetic", "none", 0, (0.0,) * 3, (1.0,) * 3, "none", 0.0, DIM)


def clustered(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(n // 200, DIM)).astype(np.float32)
    x = centers[rng.integers(0, len(centers), n)] + 0.35 * rng.normal(size=(n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def data():
    x = clustered(6_000, 0)
    rng = np.random.default_rng(1)
    q = x[rng.choice(len(x), 100, replace=False)] + 0.05 * rng.normal(size=(100, DIM)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    exact = faiss.IndexFlatIP(DIM)
    exact.add(x)
    return x, q, exact.search(q, 100)[1]


def test_codes_rank_like_float32():
    x = clustered(2_000, 3)
    codes = RefineCodes.trained(x)
    codes.add(np.arange(len(x)) * 7, x)  # ids need not be positions
    assert np.abs(codes.vectors(np.array([0, 7 * 1999])) - x[[0, 1999]]).max() < 0.01
    cand = np.array([[7 * 5, -1, 7 * 9, 3]])  # -1 and an unknown id are never returned
    scores, ids = codes.rerank(x[[9]], cand, 3)
    assert ids.tolist() == [[63, 35, -1]] and scores[0, 2] == -np.inf


def test_refinement_raises_pq_recall(data, tmp_path):
    x, q, truth = data
    factory = "IVF32,PQ8x8"  # 8-byte codes: far below the target alone
    assert refine_kind(factory) == "SQ8" and refine_kind("IVF64,Flat") is None
    index = SearchIndex.from_vectors(SPEC, np.arange(len(x)), x, [{"key": str(i), "file": ""} for i in range(len(x))], factory, 0.95)
    assert index.refine is not None and index.tuned_recall >= 0.95
    k = 1000
    unrefined = search_with(index.index, q, k, index.search_params)[1][:, :100]
    refined = index.search(q, k).ids[:, :100]
    before, after = recall_at(unrefined, truth), recall_at(refined, truth)
    assert before < 0.8 and after >= 0.95, (before, after)

    index.remove(list(range(0, len(x), 3)))  # deletes reach the codes
    after_delete = index.search(q, k).ids
    assert not np.isin(after_delete, np.arange(0, len(x), 3)).any()
    index.save(tmp_path / "root")
    for mmap in (True, False):
        loaded = SearchIndex.load(tmp_path / "root", mmap=mmap)
        assert loaded.refine is not None and len(loaded.refine) == len(loaded)
        np.testing.assert_array_equal(loaded.search(q, k).ids, after_delete)
