"""Global re-ranking over the candidate set: alpha query expansion and database-side augmentation.

Both are pure functions over the candidates' stored (unit) vectors. alpha-QE (Radenovic et al.) moves the
query towards its best candidates, weighting each by its similarity to the power alpha; DBA replaces each
candidate by the weighted mean of itself and its nearest candidates, which pulls a brand's variants together.
"""

from __future__ import annotations

import numpy as np


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def alpha_query_expansion(query: np.ndarray, vectors: np.ndarray, scores: np.ndarray, top: int, alpha: float) -> np.ndarray:
    """The expanded query (d,): query + sum over the ``top`` best-scoring candidates of max(score, 0)^alpha x."""
    if top <= 0 or not len(vectors):
        return query
    best = np.argsort(-scores, kind="stable")[:top]
    weights = np.maximum(scores[best], 0.0) ** alpha
    return _unit(query + (weights[:, None] * vectors[best]).sum(axis=0))


def database_augmentation(vectors: np.ndarray, top: int, alpha: float) -> np.ndarray:
    """Each candidate averaged with its ``top`` nearest candidates (weights: similarity^alpha, self = 1)."""
    if top <= 0 or len(vectors) < 2:
        return vectors
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    k = min(top, len(vectors) - 1)
    nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    weights = np.maximum(np.take_along_axis(sims, nearest, axis=1), 0.0) ** alpha
    return _unit(vectors + (weights[:, :, None] * vectors[nearest]).sum(axis=1))
