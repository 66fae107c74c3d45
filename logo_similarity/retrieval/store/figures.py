"""The figures of an index's composite marks: one vector per composite (its device without the words), in
index space (projected like the whole marks' vectors), stored next to the FAISS index in each version folder.

Files (written with the rest of the version)::

    figure_ids.npy       (n,) int64        item id of each row (composite marks only)
    figure_vectors.npy   (n, d) float32    unit vectors in index space

Stage 1 searches them (``search``: exact inner product, so a plain device finds the composites that carry it
and a composite's figure finds both) and stage 2 reads them by id (``take``). Adds are appended, removals
masked; ``save`` writes the live rows.
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np


class FigureVectors:
    def __init__(self, dim: int, ids=None, vectors=None, split: dict | None = None) -> None:
        self.dim = dim
        self.split = split  # how the figures were cut (preprocessing.elements.split_descriptor); None: not recorded
        self._ids = np.zeros(0, np.int64) if ids is None else np.asarray(ids, np.int64)
        self._vectors = np.zeros((0, dim), np.float32) if vectors is None else np.asarray(vectors, np.float32)
        self._live = np.ones(len(self._ids), bool)
        self._reindex()

    def _reindex(self) -> None:
        self._row = {int(self._ids[r]): int(r) for r in np.flatnonzero(self._live)}
        self._faiss = None  # built on the first search after a change

    def __len__(self) -> int:
        return len(self._row)

    def __contains__(self, item: int) -> bool:
        return int(item) in self._row

    def manifest(self) -> dict:
        return {"items": len(self), "dim": self.dim, "split": self.split}

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Figures of ``ids`` (vectors in index space); an id already present gets the new vector."""
        ids = np.asarray(ids, np.int64)
        if not len(ids):
            return
        self.remove(ids)
        self._ids = np.concatenate([self._ids, ids])
        self._vectors = np.concatenate([self._vectors, np.asarray(vectors, np.float32).reshape(len(ids), self.dim)])
        self._live = np.concatenate([self._live, np.ones(len(ids), bool)])
        self._reindex()

    def remove(self, ids) -> None:
        rows = [self._row[int(i)] for i in ids if int(i) in self._row]
        if rows:
            self._live[rows] = False
            self._reindex()

    def take(self, ids) -> tuple[np.ndarray, np.ndarray]:
        """(present mask (n,), vectors (m, d)) for the ids that have a figure."""
        rows = [self._row.get(i) for i in np.asarray(ids).tolist()]
        present = np.array([r is not None for r in rows], dtype=bool)
        return present, self._vectors[[r for r in rows if r is not None]]

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the ``k`` nearest figures per query (ids -1 where fewer exist)."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if not len(self) or k <= 0:
            return np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
        if self._faiss is None:
            live = np.flatnonzero(self._live)
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
            index.add_with_ids(np.ascontiguousarray(self._vectors[live]), self._ids[live])
            self._faiss = index
        return self._faiss.search(queries, min(int(k), len(self)))

    def save(self, folder: Path) -> None:
        live = np.flatnonzero(self._live)
        np.save(Path(folder) / "figure_ids.npy", self._ids[live])
        np.save(Path(folder) / "figure_vectors.npy", self._vectors[live])

    @classmethod
    def load(cls, folder: Path, dim: int, split: dict | None = None) -> FigureVectors:
        folder = Path(folder)
        return cls(dim, np.load(folder / "figure_ids.npy"), np.load(folder / "figure_vectors.npy"), split)
