"""Retrieval metrics as pure functions over numpy arrays.

A ranking is described by a boolean ``hits`` matrix (queries x ranks): ``hits[q, i]`` is True when the item
at rank i+1 of query q is relevant. ``n_relevant[q]`` is |R| for that query (relevant items that exist in the
gallery, whether or not they were retrieved).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def relevance_matrix(ranked_ids: Sequence[Sequence], relevant: Sequence[set], depth: int) -> np.ndarray:
    """Boolean (Q, depth) matrix from ranked id lists (shorter lists are padded with misses)."""
    hits = np.zeros((len(ranked_ids), depth), dtype=bool)
    for q, (ranking, rel) in enumerate(zip(ranked_ids, relevant)):
        for i, item in enumerate(list(ranking)[:depth]):
            hits[q, i] = item in rel
    return hits


def recall_at_k(hits: np.ndarray, k: int) -> float:
    """Hit rate: fraction of queries with at least one relevant item in the top k."""
    if hits.shape[0] == 0:
        return float("nan")
    return float(hits[:, :k].any(axis=1).mean())


def average_precision_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """AP@k per query = (1 / min(|R|, k)) * sum_{i<=k} P(i) * rel_i. Queries with |R| = 0 get NaN."""
    top = hits[:, :k].astype(np.float64)
    precision = np.cumsum(top, axis=1) / np.arange(1, top.shape[1] + 1)
    denom = np.minimum(np.asarray(n_relevant, dtype=np.float64), k)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (precision * top).sum(axis=1) / denom, np.nan)


def map_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> float:
    ap = average_precision_at_k(hits, n_relevant, k)
    return float(np.nanmean(ap)) if np.isfinite(ap).any() else float("nan")


def normalized_average_rank(relevant_ranks: np.ndarray, n_gallery: int) -> float:
    """NAR of one query (METU trademark benchmark): 0 when all relevant items come first, ~0.5 for random.

    NAR = (sum_i R_i - N_rel (N_rel + 1) / 2) / (N * N_rel), with R_i the 1-based ranks of the relevant items in
    the full ranking of N gallery items.
    """
    ranks = np.asarray(relevant_ranks, dtype=np.float64)
    n_rel = ranks.size
    if n_rel == 0 or n_gallery <= 0:
        return float("nan")
    return float((ranks.sum() - n_rel * (n_rel + 1) / 2.0) / (n_gallery * n_rel))


def full_ranks(scores: np.ndarray, targets: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """1-based rank of each ``targets`` column in the descending order of ``scores`` (ties count against).

    ``valid`` masks gallery columns that take part in the ranking (False = ignored for this query).
    """
    scores = np.asarray(scores, dtype=np.float64)
    pool = scores if valid is None else scores[valid]
    target_scores = scores[np.asarray(targets)]
    return 1 + (pool[None, :] > target_scores[:, None]).sum(axis=1) + _ties_before(pool, target_scores)


def _ties_before(pool: np.ndarray, target_scores: np.ndarray) -> np.ndarray:
    # A relevant item tied with others is placed after them (pessimistic), minus itself.
    return np.maximum((pool[None, :] == target_scores[:, None]).sum(axis=1) - 1, 0)
