"""Local features of an index's items, stored next to the FAISS index in each version folder.

Files (written with the rest of the version, so they are as crash-safe as the index itself)::

    local_ids.npy      (n,) int64       item id of each row
    local_cells.npy    (n, P, D) fp16   unit vectors per grid cell (memory-mapped when searching)
    local_ink.npy      (n, P) uint8     ink share per cell x 255
    local_pca.npz                       the projection that made the cells (queries must use the same)

Rows are read by id at query time (``take``): re-ranking runs no network forward pass per candidate. Adds are
appended in memory and removals are masked; ``save`` streams the live rows to the new version in blocks, so a
large store never has to fit in memory.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from logo_similarity.embeddings.local import LocalProjection

_BLOCK = 4096


class LocalFeatures:
    def __init__(self, projection: LocalProjection, grid: int, ids=None, cells=None, ink=None) -> None:
        self.projection = projection
        self.grid = grid
        cells_shape = (0, grid * grid, projection.dim)
        self._parts = [(np.zeros(0, np.int64) if ids is None else np.asarray(ids, np.int64),
                        np.zeros(cells_shape, np.float16) if cells is None else cells,
                        np.zeros(cells_shape[:2], np.uint8) if ink is None else ink)]
        self._removed: set[int] = set()
        self._reindex()

    def _reindex(self) -> None:
        self._where: dict[int, tuple[int, int]] = {}
        for p, (ids, _, _) in enumerate(self._parts):
            for r, item in enumerate(ids.tolist()):
                if item not in self._removed:
                    self._where[item] = (p, r)

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, item: int) -> bool:
        return int(item) in self._where

    @property
    def bytes_per_item(self) -> int:
        cells = self.grid * self.grid
        return cells * self.projection.dim * 2 + cells + 8

    def manifest(self) -> dict:
        p = self.projection
        return {"grid": self.grid, "dim": p.dim, "stride": p.stride, "projection": p.fingerprint(),
                "items": len(self), "bytes_per_item": self.bytes_per_item}

    def add(self, ids: np.ndarray, cells: np.ndarray, ink: np.ndarray) -> None:
        ids = np.asarray(ids, np.int64)
        if not (len(ids) == len(cells) == len(ink)):
            raise ValueError("ids, cells and ink must have the same length")
        if len(ids):
            self._removed -= set(ids.tolist())
            self._parts.append((ids, np.asarray(cells, np.float16), to_ink_bytes(ink)))
            base = len(self._parts) - 1
            for r, item in enumerate(ids.tolist()):
                self._where[item] = (base, r)

    def remove(self, ids) -> None:
        for item in ids:
            if self._where.pop(int(item), None) is not None:
                self._removed.add(int(item))

    def take(self, ids) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(present mask (n,), cells (m, P, D) float32, ink (m, P) float32) for the ids that have features."""
        where = [self._where.get(i) for i in np.asarray(ids).tolist()]
        present = np.array([w is not None for w in where], dtype=bool)
        found = [w for w in where if w is not None]
        cells = np.empty((len(found), self.grid * self.grid, self.projection.dim), np.float32)
        ink = np.empty((len(found), self.grid * self.grid), np.float32)
        for p in {w[0] for w in found}:
            slots = [k for k, w in enumerate(found) if w[0] == p]
            rows = np.array([found[k][1] for k in slots])
            order = np.argsort(rows)  # sorted reads from a memory map touch pages in order
            cells[np.array(slots)[order]] = self._parts[p][1][rows[order]]
            ink[np.array(slots)[order]] = self._parts[p][2][rows[order]] / 255.0
        return present, cells, ink

    def save(self, folder: Path) -> None:
        folder = Path(folder)
        live = sorted(self._where.items())
        n, cells_per, dim = len(live), self.grid * self.grid, self.projection.dim
        ids = np.array([i for i, _ in live], dtype=np.int64)
        np.save(folder / "local_ids.npy", ids)
        out_cells = np.lib.format.open_memmap(folder / "local_cells.npy", "w+", np.float16, (n, cells_per, dim))
        out_ink = np.lib.format.open_memmap(folder / "local_ink.npy", "w+", np.uint8, (n, cells_per))
        for start in range(0, n, _BLOCK):
            part = [w for _, w in live[start : start + _BLOCK]]
            for p in {w[0] for w in part}:
                slots = np.array([k for k, w in enumerate(part) if w[0] == p])
                rows = np.array([part[k][1] for k in slots])
                out_cells[start + slots] = self._parts[p][1][rows]
                out_ink[start + slots] = self._parts[p][2][rows]
        out_cells.flush()
        out_ink.flush()
        del out_cells, out_ink
        self.projection.save(folder / "local_pca.npz")

    @classmethod
    def load(cls, folder: Path, mmap: bool = True) -> LocalFeatures | None:
        folder = Path(folder)
        if not (folder / "local_ids.npy").is_file():
            return None
        mode = "r" if mmap else None
        cells = np.load(folder / "local_cells.npy", mmap_mode=mode)
        grid = int(round(np.sqrt(cells.shape[1])))
        return cls(LocalProjection.load(folder / "local_pca.npz"), grid, np.load(folder / "local_ids.npy"), cells,
                   np.load(folder / "local_ink.npy", mmap_mode=mode))


def to_ink_bytes(ink: np.ndarray) -> np.ndarray:
    ink = np.asarray(ink)
    return ink if ink.dtype == np.uint8 else np.clip(np.rint(ink * 255.0), 0, 255).astype(np.uint8)
