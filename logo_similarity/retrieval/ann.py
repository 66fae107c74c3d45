"""Build, train and tune an approximate FAISS index chosen by ``choose_index``.

``tune_search`` raises efSearch (HNSW) or nprobe (IVF) until recall@k against exact search, measured on
held-out sample queries, reaches the target; the values are recorded in the manifest and re-applied on load.
"""

from __future__ import annotations

import time

import faiss
import numpy as np
from loguru import logger

EF_SEARCH = (16, 32, 64, 128, 256, 512, 1024)
NPROBE = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


def new_index(dim: int, factory: str) -> faiss.Index:
    return faiss.IndexIDMap2(faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT))


def train_index(index: faiss.Index, vectors: np.ndarray, sample: int = 100_000, seed: int = 0) -> None:
    if index.is_trained:
        return
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(vectors), size=min(sample, len(vectors)), replace=False)
    start = time.perf_counter()
    index.train(np.ascontiguousarray(vectors[np.sort(rows)]))
    logger.info("trained index on {} vectors in {:.1f}s", len(rows), time.perf_counter() - start)


def _knob(index: faiss.Index) -> tuple[str, tuple[int, ...]] | None:
    inner = faiss.downcast_index(index.index if isinstance(index, faiss.IndexIDMap2) else index)
    if isinstance(inner, faiss.IndexHNSW):
        return "efSearch", EF_SEARCH
    try:
        faiss.extract_index_ivf(inner)
    except RuntimeError:
        return None
    return "nprobe", NPROBE


def apply_search_params(index: faiss.Index, params: dict[str, int]) -> None:
    inner = faiss.downcast_index(index.index if isinstance(index, faiss.IndexIDMap2) else index)
    for name, value in params.items():
        if name == "efSearch":
            inner.hnsw.efSearch = int(value)
        elif name == "nprobe":
            faiss.extract_index_ivf(inner).nprobe = int(value)
        else:
            raise ValueError(f"unknown search parameter {name}")


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean over queries of |found ∩ truth| / |truth| (rows of ids; -1 entries ignored)."""
    hits = [len(set(f[f >= 0].tolist()) & set(t[t >= 0].tolist())) / max(1, (t >= 0).sum()) for f, t in zip(found, truth)]
    return float(np.mean(hits)) if hits else float("nan")


def tune_search(
    index: faiss.Index, exact: faiss.Index, queries: np.ndarray, target: float, k: int = 100
) -> tuple[dict[str, int], float]:
    """Smallest search setting reaching ``target`` recall@k against ``exact``; the best one if none does."""
    knob = _knob(index)
    _, truth = exact.search(queries, k)
    if knob is None:
        _, found = index.search(queries, k)
        return {}, recall_at(found, truth)
    name, values = knob
    best = ({name: values[-1]}, -1.0)
    for value in values:
        apply_search_params(index, {name: value})
        _, found = index.search(queries, k)
        recall = recall_at(found, truth)
        if recall > best[1]:
            best = ({name: value}, recall)
        if recall >= target:
            return {name: value}, recall
    apply_search_params(index, best[0])
    return best
