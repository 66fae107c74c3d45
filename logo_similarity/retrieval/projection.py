"""PCA whitening of embeddings, fitted incrementally over build chunks (scikit-learn ``IncrementalPCA``).

The index owns its projection: vectors given to ``SearchIndex.add`` / ``search`` are raw embeddings, projected,
whitened and re-normalised inside, so queries and incremental additions always match the indexed vectors.
Stored as ``pca.npz`` in the index version folder.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Projection:
    mean: np.ndarray  # (in_dim,)
    components: np.ndarray  # (out_dim, in_dim)
    scale: np.ndarray  # (out_dim,) 1/sqrt(explained variance) when whitening, else ones

    @property
    def dim(self) -> int:
        return int(self.components.shape[0])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y = ((np.asarray(x, dtype=np.float32) - self.mean) @ self.components.T) * self.scale
        return (y / np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    def save(self, path: Path) -> None:
        np.savez(path, mean=self.mean, components=self.components, scale=self.scale)

    @classmethod
    def load(cls, path: Path) -> Projection:
        with np.load(path) as f:
            return cls(f["mean"], f["components"], f["scale"])


def fit_projection(batches: Iterable[np.ndarray], dim: int, whiten: bool = True, eps: float = 1e-6) -> Projection:
    """Fit PCA to ``dim`` components over batches of vectors (batches smaller than ``dim`` are pooled)."""
    from sklearn.decomposition import IncrementalPCA  # ~1 s to import: only builds that fit PCA pay it

    pca = IncrementalPCA(n_components=dim)
    pending: list[np.ndarray] = []
    pooled = 0
    for batch in batches:
        pending.append(np.asarray(batch, dtype=np.float32))
        pooled += len(batch)
        if pooled >= dim:
            pca.partial_fit(np.concatenate(pending))
            pending, pooled = [], 0
    if pending and hasattr(pca, "components_") and pooled:
        rest = np.concatenate(pending)
        if len(rest) >= dim:
            pca.partial_fit(rest)
    if not hasattr(pca, "components_"):
        raise ValueError(f"PCA to {dim} dims needs at least {dim} vectors")
    scale = 1.0 / np.sqrt(pca.explained_variance_ + eps) if whiten else np.ones(dim)
    return Projection(pca.mean_.astype(np.float32), pca.components_.astype(np.float32), scale.astype(np.float32))
