"""Jobs recorded in SQLite (stdlib), one row per job, so a restarted server still knows them.

Each save is one short transaction; SQLite's own locking serialises the job thread and request threads (and
two server processes on the same index). The newest ``keep`` finished jobs are kept.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    state TEXT NOT NULL,
    body TEXT NOT NULL      -- the job as a JSON object
);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs(created);
"""


class JobStore:
    def __init__(self, path: Path, keep: int = 100) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.keep = keep
        self._lock = threading.Lock()
        with self._db() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        try:
            with db:  # one transaction
                yield db
        finally:
            db.close()

    def save(self, job: dict[str, Any]) -> None:
        with self._lock, self._db() as db:
            db.execute("INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, ?)",
                       (job["id"], job["created"], job["state"], json.dumps(job)))
            db.execute("DELETE FROM jobs WHERE state IN ('completed', 'failed', 'cancelled') AND id NOT IN "
                       "(SELECT id FROM jobs ORDER BY created DESC LIMIT ?)", (self.keep,))

    def load(self) -> list[dict[str, Any]]:
        with self._lock, self._db() as db:
            rows = db.execute("SELECT body FROM jobs ORDER BY created").fetchall()
        return [json.loads(body) for (body,) in rows]
