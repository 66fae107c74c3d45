"""Embeddings already computed, by (model spec, image content): a rebuild re-embeds only what changed.

SQLite beside the index's work folder; keys are the spec fingerprint and the sha256 of the source file, so
a renamed or moved file is still a hit and a changed one is a miss. Local features (when the build stores
them) live in a second table keyed also by the local projection; an item without them there is a miss.
Writes are one transaction per chunk.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class CachedItem:
    vector: np.ndarray
    extra: dict
    cells: np.ndarray | None = None  # (P, D) float16
    ink: np.ndarray | None = None  # (P,) float32
    figure: np.ndarray | None = None  # (dim,) float32, NaN for a mark without a figure (when elements are on)


class EmbeddingCache:
    def __init__(self, path: Path, spec_fingerprint: str, local_key: str | None = None,
                 cells_shape: tuple[int, int] | None = None, figures_key: str | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE TABLE IF NOT EXISTS embeddings (spec TEXT, sha256 TEXT, vector BLOB, extra TEXT, "
                        "PRIMARY KEY (spec, sha256))")
        self.db.execute("CREATE TABLE IF NOT EXISTS local (spec TEXT, sha256 TEXT, cells BLOB, ink BLOB, "
                        "PRIMARY KEY (spec, sha256))")
        self.db.execute("CREATE TABLE IF NOT EXISTS figures (spec TEXT, sha256 TEXT, vector BLOB, "
                        "PRIMARY KEY (spec, sha256))")
        self.spec = spec_fingerprint
        # figure vectors depend on the split's settings too; an item without its row there is a miss
        self.figures_key = None if figures_key is None else f"{spec_fingerprint}:{figures_key}"
        self.local_key = None if local_key is None else f"{spec_fingerprint}:{local_key}"
        self.cells_shape = cells_shape

    def _select(self, table: str, columns: str, key: str, digests: list[str]):
        for start in range(0, len(digests), 500):
            part = digests[start : start + 500]
            marks = ",".join("?" * len(part))
            yield from self.db.execute(
                f"SELECT sha256, {columns} FROM {table} WHERE spec = ? AND sha256 IN ({marks})", [key, *part]
            )

    def get(self, digests: list[str]) -> dict[str, CachedItem]:
        found = {
            sha: CachedItem(np.frombuffer(blob, dtype=np.float32).copy(), json.loads(extra))
            for sha, blob, extra in self._select("embeddings", "vector, extra", self.spec, digests)
        }
        if self.local_key is not None:
            with_local: dict[str, CachedItem] = {}
            for sha, cells, ink in self._select("local", "cells, ink", self.local_key, list(found)):
                item = found[sha]
                item.cells = np.frombuffer(cells, dtype=np.float16).reshape(self.cells_shape).copy()
                item.ink = np.frombuffer(ink, dtype=np.float32).copy()
                with_local[sha] = item
            found = with_local
        if self.figures_key is not None:
            with_figure: dict[str, CachedItem] = {}
            for sha, vector in self._select("figures", "vector", self.figures_key, list(found)):
                found[sha].figure = np.frombuffer(vector, dtype=np.float32).copy()
                with_figure[sha] = found[sha]
            found = with_figure
        return found

    def put(self, items: list[tuple[str, CachedItem]]) -> None:
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?)",
                [(self.spec, sha, np.asarray(it.vector, np.float32).tobytes(), json.dumps(it.extra))
                 for sha, it in items],
            )
            if self.local_key is not None:
                self.db.executemany(
                    "INSERT OR REPLACE INTO local VALUES (?, ?, ?, ?)",
                    [(self.local_key, sha, np.asarray(it.cells, np.float16).tobytes(),
                      np.asarray(it.ink, np.float32).tobytes()) for sha, it in items],
                )
            if self.figures_key is not None:
                self.db.executemany(
                    "INSERT OR REPLACE INTO figures VALUES (?, ?, ?)",
                    [(self.figures_key, sha, np.asarray(it.figure, np.float32).tobytes()) for sha, it in items],
                )

    def close(self) -> None:
        self.db.close()
