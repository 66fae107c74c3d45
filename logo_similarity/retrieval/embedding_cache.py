"""Embeddings already computed, by (model spec, image content): a rebuild re-embeds only what changed.

SQLite beside the index's work folder; keys are the spec fingerprint and the sha256 of the source file, so
a renamed or moved file is still a hit and a changed one is a miss. Writes are one transaction per chunk.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np


class EmbeddingCache:
    def __init__(self, path: Path, spec_fingerprint: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE TABLE IF NOT EXISTS embeddings (spec TEXT, sha256 TEXT, vector BLOB, extra TEXT, "
                        "PRIMARY KEY (spec, sha256))")
        self.spec = spec_fingerprint

    def get(self, digests: list[str]) -> dict[str, tuple[np.ndarray, dict]]:
        found: dict[str, tuple[np.ndarray, dict]] = {}
        for start in range(0, len(digests), 500):
            part = digests[start : start + 500]
            marks = ",".join("?" * len(part))
            rows = self.db.execute(
                f"SELECT sha256, vector, extra FROM embeddings WHERE spec = ? AND sha256 IN ({marks})", [self.spec, *part]
            )
            for sha, blob, extra in rows:
                found[sha] = (np.frombuffer(blob, dtype=np.float32).copy(), json.loads(extra))
        return found

    def put(self, items: list[tuple[str, np.ndarray, dict]]) -> None:
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?)",
                [(self.spec, sha, np.asarray(v, np.float32).tobytes(), json.dumps(extra)) for sha, v, extra in items],
            )

    def close(self) -> None:
        self.db.close()
