"""The watch store's tables (SQLite) and their versions: a new file gets the whole schema, an older one the
migrations from its ``PRAGMA user_version`` on, in the caller's transaction; a newer one is refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS watches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    client TEXT NOT NULL,
    created REAL NOT NULL,
    min_score REAL NOT NULL,
    marks INTEGER NOT NULL,
    marks_digest TEXT NOT NULL,
    rules TEXT NOT NULL DEFAULT '{}',  -- JSON: exceptions.ExceptionRules
    uploads TEXT,                   -- the folder the API made for the list's uploaded images (removed with it)
    min_conflict REAL,              -- calibrated conflict probability an alert needs (NULL: min_score alone)
    UNIQUE (client, name)
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    watch_id INTEGER NOT NULL REFERENCES watches(id) ON DELETE CASCADE,
    state TEXT NOT NULL,            -- running | done | cancelled | failed | interrupted
    source TEXT NOT NULL,
    started REAL NOT NULL,
    finished REAL,
    filings INTEGER NOT NULL,       -- in the source
    compared INTEGER NOT NULL DEFAULT 0,
    already INTEGER NOT NULL DEFAULT 0,  -- compared by an earlier run against the same marks: not again
    skipped INTEGER NOT NULL DEFAULT 0,
    alerts_new INTEGER NOT NULL DEFAULT 0,
    suppressed INTEGER NOT NULL DEFAULT 0,  -- pairs an exception rule suppressed
    marks_digest TEXT NOT NULL,
    error TEXT
);
CREATE TABLE IF NOT EXISTS compared (
    watch_id INTEGER NOT NULL REFERENCES watches(id) ON DELETE CASCADE,
    filing TEXT NOT NULL,
    marks_digest TEXT NOT NULL,
    run_id INTEGER NOT NULL,
    PRIMARY KEY (watch_id, filing, marks_digest)
);
CREATE TABLE IF NOT EXISTS skipped (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    filing TEXT NOT NULL,
    reason TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    watch_id INTEGER NOT NULL REFERENCES watches(id) ON DELETE CASCADE,
    mark_id INTEGER NOT NULL,
    filing TEXT NOT NULL,
    score REAL NOT NULL,
    body TEXT NOT NULL,             -- JSON: both marks, components, explanation
    state TEXT NOT NULL DEFAULT 'new',
    state_score REAL,               -- the score when the state was last set
    first_run INTEGER NOT NULL,
    last_run INTEGER NOT NULL,
    updated REAL NOT NULL,
    UNIQUE (watch_id, mark_id, filing)
);
CREATE INDEX IF NOT EXISTS alerts_watch ON alerts(watch_id, score);
"""

SCHEMA_VERSION = 3  # PRAGMA user_version; MIGRATIONS[v] takes a file of version v to v + 1
MIGRATIONS = {1: "ALTER TABLE watches ADD COLUMN uploads TEXT", 2: "ALTER TABLE watches ADD COLUMN min_conflict REAL"}


def migrate(db: sqlite3.Connection, path: Path) -> None:
    """Bring the file open in ``db`` (inside a write transaction) to ``SCHEMA_VERSION``."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    fresh = db.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'watches'").fetchone()[0] == 0
    if version > SCHEMA_VERSION:
        raise RuntimeError(f"{path} is of a newer version ({version}) than this program reads "
                           f"({SCHEMA_VERSION}): upgrade logo-similarity")
    if fresh:
        for statement in SCHEMA.split(";\n"):  # one by one: executescript would commit the transaction
            if statement.strip():
                db.execute(statement)
    else:
        for step in range(max(version, 1), SCHEMA_VERSION):
            db.execute(MIGRATIONS[step])
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


__all__ = ["MIGRATIONS", "SCHEMA", "SCHEMA_VERSION", "migrate"]
