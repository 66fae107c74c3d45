"""Refinement of product-quantised search: candidates re-scored from 8-bit codes of the full vectors.

PQ codes (48-64 bytes for 256 dims) cap recall@100 near 0.7: the order among close neighbours is lost in the
quantisation. The ANN stage therefore fetches ``factor`` x k candidates and they are re-scored with per-dimension
8-bit scalar-quantised vectors (dim bytes each), which rank almost exactly like float32 (recall ~0.99).

At least ``MIN_FETCH`` candidates are re-scored whatever k is, so a k = 20 search ranks as well as the
k = 1000 one the query path makes (and tuning, at k = 100, measures what is served).

The codes live beside the index in ``refine_{ids,codes}.npy`` + ``refine_sq.npz`` and are memory-mapped when the
index is: a query reads ``factor`` x k rows (about 2,000 x 256 bytes at k = 1,000), so the codes take page
cache, not the process's memory budget. Ids are kept sorted so a candidate's row is a binary search away.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

REFINE_FACTOR = 2
MIN_FETCH = 1000  # candidates re-scored even for a small k: cheap, and small-k searches keep their recall
FILES = ("refine_ids.npy", "refine_codes.npy", "refine_sq.npz")


def refine_kind(factory: str) -> str | None:
    """Which refinement an index type gets: product-quantised ones re-score from SQ8 codes, others need none."""
    return "SQ8" if ",PQ" in factory or factory.startswith("PQ") else None


class RefineCodes:
    """Per-dimension 8-bit codes of every vector, by id; ``rerank`` re-scores candidate ids by inner product."""

    def __init__(self, vmin: np.ndarray, scale: np.ndarray, ids: np.ndarray | None = None,
                 codes: np.ndarray | None = None, factor: int = REFINE_FACTOR) -> None:
        self.vmin = np.asarray(vmin, np.float32)
        self.scale = np.asarray(scale, np.float32)
        dim = len(self.vmin)
        self.ids = np.zeros(0, np.int64) if ids is None else ids
        self.codes = np.zeros((0, dim), np.uint8) if codes is None else codes
        self.factor = factor

    @classmethod
    def trained(cls, vectors: np.ndarray, factor: int = REFINE_FACTOR) -> RefineCodes:
        """Code ranges from the data: per dimension its min and max, so no value is clipped when training
        saw it (later vectors outside are clipped to the range)."""
        vectors = np.asarray(vectors, np.float32)
        vmin, vmax = vectors.min(axis=0), vectors.max(axis=0)
        return cls(vmin, np.maximum(vmax - vmin, 1e-12) / 255.0, factor=factor)

    @property
    def dim(self) -> int:
        return len(self.vmin)

    def __len__(self) -> int:
        return len(self.ids)

    def encode(self, vectors: np.ndarray) -> np.ndarray:
        q = np.rint((np.asarray(vectors, np.float32) - self.vmin) / self.scale)
        return np.clip(q, 0, 255).astype(np.uint8)

    def decode(self, codes: np.ndarray) -> np.ndarray:
        return codes.astype(np.float32) * self.scale + self.vmin

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = np.asarray(ids, np.int64)
        all_ids = np.concatenate([np.asarray(self.ids), ids])
        all_codes = np.concatenate([np.asarray(self.codes), self.encode(vectors)])
        order = np.argsort(all_ids, kind="stable")
        self.ids, self.codes = all_ids[order], all_codes[order]

    def remove(self, ids) -> None:
        keep = ~np.isin(self.ids, np.asarray(list(ids), np.int64))
        self.ids, self.codes = np.asarray(self.ids)[keep], np.asarray(self.codes)[keep]

    def scores(self, queries: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """(nq, c) inner products of each query with its candidate ids' decoded vectors; -inf for -1 or unknown."""
        rows = np.searchsorted(self.ids, candidates)
        rows = np.minimum(rows, max(len(self.ids) - 1, 0))
        known = (candidates >= 0) & (len(self.ids) > 0)
        if len(self.ids):
            known &= np.asarray(self.ids)[rows] == candidates
        out = np.full(candidates.shape, -np.inf, dtype=np.float32)
        # q . (vmin + scale * code) = q . vmin + (q * scale) . code: no decoded copy of the candidates.
        # Element-wise, not BLAS: right after a FAISS search its OpenMP threads still spin and starve BLAS's
        # (measured: a 2,000 x 256 product took 6.6 ms through BLAS, 0.9 ms like this).
        for q in range(len(queries)):
            take = rows[q][known[q]]
            order = np.argsort(take)  # sorted reads from the memory map touch its pages in order
            weights = queries[q] * self.scale
            values = np.empty(len(take), np.float32)
            values[order] = (np.asarray(self.codes[take[order]]) * weights).sum(axis=1) + (queries[q] * self.vmin).sum()
            out[q, known[q]] = values
        return out

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """Decoded vectors of the given ids (all must be present)."""
        rows = np.searchsorted(self.ids, np.asarray(ids, np.int64))
        if len(rows) and (rows.max() >= len(self.ids) or (np.asarray(self.ids)[rows] != ids).any()):
            raise KeyError("ids without refinement codes")
        return self.decode(np.asarray(self.codes[rows]))

    def rerank(self, queries: np.ndarray, candidates: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top k of each row of candidate ids by refined score: (scores, ids), padded with -inf / -1."""
        refined = self.scores(queries, candidates)
        order = np.argsort(-refined, axis=1, kind="stable")[:, :k]
        scores = np.take_along_axis(refined, order, axis=1)
        ids = np.where(np.isfinite(scores), np.take_along_axis(candidates, order, axis=1), -1)
        return scores, ids

    def manifest(self) -> dict:
        return {"codes": "SQ8", "factor": self.factor, "bytes_per_item": self.dim + 8}

    def save(self, folder: Path) -> None:
        """Into a version's staging folder (index_io.py fsyncs and renames it whole)."""
        np.save(folder / "refine_ids.npy", np.asarray(self.ids, np.int64))
        np.save(folder / "refine_codes.npy", np.asarray(self.codes, np.uint8))
        np.savez(folder / "refine_sq.npz", vmin=self.vmin, scale=self.scale, factor=np.int64(self.factor))

    @classmethod
    def load(cls, folder: Path, mmap: bool = True) -> RefineCodes:
        mode = "r" if mmap else None
        with np.load(folder / "refine_sq.npz") as sq:
            vmin, scale, factor = sq["vmin"], sq["scale"], int(sq["factor"])
        return cls(vmin, scale, np.load(folder / "refine_ids.npy", mmap_mode=mode),
                   np.load(folder / "refine_codes.npy", mmap_mode=mode), factor)
