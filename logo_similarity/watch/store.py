"""Watch lists, their runs and their alerts in one SQLite file (``<watch.root>/watch.sqlite``, stdlib).

Every row belongs to a client (the key that made it; ``None`` asks as the admin, who sees all): a client never
reads, changes or learns of another client's watch lists, runs or alerts. A run writes each chunk of filings in one
transaction: the chunk's alerts, the filings it compared and the run's progress together, so a run killed at any
instant (kill -9 included) leaves whole chunks and the next run goes on from there without duplicates.

Alerts are keyed by (watch list, watched mark, filing): a later run updates the score of an alert it finds again
and keeps its triage state, except that a dismissed alert whose score rose by ``reopen_margin`` since it was
dismissed comes back as new.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from logo_similarity.watch.schema import SCHEMA, SCHEMA_VERSION, migrate

STATES = ("new", "reviewing", "dismissed", "opposed")  # what triage sets; an exception rule sets "suppressed"


class WatchNotFound(LookupError):
    """No such watch list for this client (another client's lists do not exist for it)."""


class WatchExists(ValueError):
    """The client has a watch list of that name already."""


@dataclass(frozen=True)
class Watch:
    id: int
    name: str
    client: str
    created: float
    min_score: float
    marks: int
    marks_digest: str
    rules: str = "{}"
    uploads: str | None = None
    min_conflict: float | None = None

    @property
    def folder_name(self) -> str:
        return f"watch-{self.id}"


@dataclass(frozen=True)
class Alert:
    """One watched mark and one filing that resembles it, as a run found them."""

    mark_id: int
    filing: str
    score: float
    body: dict[str, Any]


class WatchStore:
    def __init__(self, root: Path, timeout_s: float = 30.0, reopen_margin: float = 0.1) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.path = self.root / "watch.sqlite"
        self.timeout_s = timeout_s
        self.reopen_margin = reopen_margin
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")
        with self._write() as db:
            migrate(db, self.path)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA foreign_keys=ON")
        try:
            yield db
        finally:
            db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (taken at once, so concurrent writers queue instead of failing midway)."""
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # watch lists -----------------------------------------------------------------------------------------------
    def create(self, name: str, client: str, min_score: float, marks: int, marks_digest: str,
               rules: dict[str, Any] | None = None, uploads: str | None = None,
               min_conflict: float | None = None) -> Watch:
        with self._write() as db:
            try:
                cur = db.execute("INSERT INTO watches (name, client, created, min_score, marks, marks_digest, rules, "
                                 "uploads, min_conflict) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                 (name, client, time.time(), min_score, marks, marks_digest, json.dumps(rules or {}),
                                  uploads, min_conflict))
            except sqlite3.IntegrityError:
                raise WatchExists(f"a watch list named {name!r} exists already") from None
            return self._get(db, cur.lastrowid, None)

    def watches(self, client: str | None) -> list[Watch]:
        with self._db() as db:
            rows = db.execute("SELECT * FROM watches WHERE ? IS NULL OR client = ? ORDER BY id", (client, client))
            return [Watch(**dict(r)) for r in rows]

    def get(self, ref: int | str, client: str | None) -> Watch:
        """A watch list by id or by name; ``WatchNotFound`` when it does not exist for ``client``."""
        with self._db() as db:
            if isinstance(ref, int) or str(ref).isdigit():
                return self._get(db, int(ref), client)
            row = db.execute("SELECT * FROM watches WHERE name = ? AND (? IS NULL OR client = ?) ORDER BY id LIMIT 1",
                             (ref, client, client)).fetchone()
            if row is None:
                raise WatchNotFound(f"no watch list {ref!r}")
            return Watch(**dict(row))

    @staticmethod
    def _get(db: sqlite3.Connection, watch_id: int, client: str | None) -> Watch:
        row = db.execute("SELECT * FROM watches WHERE id = ? AND (? IS NULL OR client = ?)",
                         (watch_id, client, client)).fetchone()
        if row is None:
            raise WatchNotFound(f"no watch list {watch_id}")
        return Watch(**dict(row))

    def delete(self, watch: Watch) -> None:
        with self._write() as db:
            db.execute("DELETE FROM watches WHERE id = ?", (watch.id,))

    # runs ------------------------------------------------------------------------------------------------------
    def start_run(self, watch: Watch, source: str, filings: int) -> int:
        """A new run (any run of this list still marked running was killed: its lock is free, so it says so)."""
        with self._write() as db:
            db.execute("UPDATE runs SET state = 'interrupted', finished = ? WHERE watch_id = ? AND state = 'running'",
                       (time.time(), watch.id))
            cur = db.execute("INSERT INTO runs (watch_id, state, source, started, filings, marks_digest) "
                             "VALUES (?, 'running', ?, ?, ?, ?)", (watch.id, source, time.time(), filings,
                                                                   watch.marks_digest))
            return int(cur.lastrowid)

    def compared_before(self, watch: Watch, filings: list[str]) -> set[str]:
        """Those of ``filings`` an earlier run compared with the list's current marks."""
        with self._db() as db:
            done = {r[0] for r in db.execute("SELECT filing FROM compared WHERE watch_id = ? AND marks_digest = ?",
                                             (watch.id, watch.marks_digest))}
        return done & set(filings)

    def record_chunk(self, run_id: int, watch: Watch, compared: list[str], alerts: list[Alert],
                     skipped: list[dict[str, str]], already: int = 0) -> int:
        """One chunk of a run, all or nothing; returns how many of ``alerts`` are new pairs."""
        now = time.time()
        with self._write() as db:
            # new = the change in the list's unsuppressed alerts, counted over this chunk's pairs only (a COUNT over
            # the list's alerts read the whole table twice per chunk: a 200,000-alert run slowed as it grew)
            before = sum(
                db.execute("SELECT COUNT(*) FROM alerts WHERE watch_id = ? AND mark_id = ? AND filing = ? "
                           "AND state != 'suppressed'", (watch.id, a.mark_id, a.filing)).fetchone()[0]
                for a in alerts)
            db.executemany(
                "INSERT INTO alerts (watch_id, mark_id, filing, score, body, state, first_run, last_run, updated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (watch_id, mark_id, filing) DO UPDATE SET "
                "score = excluded.score, body = excluded.body, last_run = excluded.last_run, updated = excluded.updated, "
                "state = CASE WHEN excluded.state = 'suppressed' OR state = 'suppressed' THEN excluded.state "
                "WHEN state = 'dismissed' AND excluded.score >= state_score + ? THEN 'new' ELSE state END",
                [(watch.id, a.mark_id, a.filing, a.score, json.dumps(a.body),
                  "suppressed" if a.body.get("suppressed_by") else "new", run_id, run_id, now, self.reopen_margin)
                 for a in alerts])
            new = sum(1 for a in alerts if not a.body.get("suppressed_by")) - before  # what the upsert leaves
            db.executemany("INSERT OR IGNORE INTO compared (watch_id, filing, marks_digest, run_id) VALUES (?, ?, ?, ?)",
                           [(watch.id, f, watch.marks_digest, run_id) for f in compared])
            db.executemany("INSERT INTO skipped (run_id, filing, reason, message) VALUES (?, ?, ?, ?)",
                           [(run_id, s["filing"], s["reason"], s["message"]) for s in skipped])
            suppressed = sum(1 for a in alerts if a.body.get("suppressed_by"))
            db.execute("UPDATE runs SET compared = compared + ?, skipped = skipped + ?, already = already + ?, "
                       "alerts_new = alerts_new + ?, suppressed = suppressed + ? WHERE id = ?",
                       (len(compared), len(skipped), already, new, suppressed, run_id))
            return new

    def finish_run(self, run_id: int, state: str, error: str | None = None) -> None:
        with self._write() as db:
            db.execute("UPDATE runs SET state = ?, finished = ?, error = ? WHERE id = ?",
                       (state, time.time(), error, run_id))

    def run(self, run_id: int, client: str | None) -> dict[str, Any]:
        with self._db() as db:
            row = db.execute("SELECT runs.* FROM runs JOIN watches ON watches.id = runs.watch_id WHERE runs.id = ? "
                             "AND (? IS NULL OR watches.client = ?)", (run_id, client, client)).fetchone()
            if row is None:
                raise WatchNotFound(f"no run {run_id}")
            skipped = [dict(r) for r in db.execute("SELECT filing, reason, message FROM skipped WHERE run_id = ?",
                                                   (run_id,))]
            return {**dict(row), "skipped_filings": skipped}

    def runs(self, watch: Watch) -> list[dict[str, Any]]:
        with self._db() as db:
            return [dict(r) for r in db.execute("SELECT * FROM runs WHERE watch_id = ? ORDER BY id", (watch.id,))]

    # alerts ----------------------------------------------------------------------------------------------------
    def alerts(self, watch: Watch, states: tuple[str, ...] | None = STATES, run_id: int | None = None,
               limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        """The list's alerts in ``states`` (default: all but those an exception rule suppressed; None: all; of run
        ``run_id`` only: those it found, new or again), best score first (ties by watched mark, then filing);
        ``limit`` of them from ``offset`` on (a page)."""
        where, args = self._where(watch, states, run_id)
        with self._db() as db:
            rows = db.execute(f"SELECT * FROM alerts WHERE {where} ORDER BY score DESC, mark_id, filing "
                              "LIMIT ? OFFSET ?", (*args, -1 if limit is None else limit, offset))
            return [_alert(r) for r in rows]

    def count_alerts(self, watch: Watch, states: tuple[str, ...] | None = STATES, run_id: int | None = None) -> int:
        where, args = self._where(watch, states, run_id)
        with self._db() as db:
            return int(db.execute(f"SELECT COUNT(*) FROM alerts WHERE {where}", args).fetchone()[0])

    def alert_keys(self, watch: Watch, states: tuple[str, ...] | None = STATES,
                   run_id: int | None = None) -> list[tuple[int, str | None, str | None, float | None, float]]:
        """(id, tier, opposition deadline, conflict score, score) of the alerts ``alerts`` would give, read from the
        stored bodies by SQLite: what a report orders them by, without holding the alerts."""
        where, args = self._where(watch, states, run_id)
        with self._db() as db:
            return [tuple(r) for r in db.execute(
                "SELECT id, json_extract(body, '$.tier'), json_extract(body, '$.filing.opposition_deadline'), "
                f"json_extract(body, '$.conflict_score'), score FROM alerts WHERE {where}", args)]

    def alerts_by_id(self, watch: Watch, ids: list[int], batch: int = 500) -> Iterator[dict[str, Any]]:
        """The list's alerts of ``ids``, in that order, read ``batch`` at a time."""
        for start in range(0, len(ids), batch):
            chunk = ids[start:start + batch]
            with self._db() as db:
                rows = {r["id"]: _alert(r) for r in db.execute(
                    f"SELECT * FROM alerts WHERE watch_id = ? AND id IN ({','.join('?' * len(chunk))})",
                    (watch.id, *chunk))}
            yield from (rows[i] for i in chunk if i in rows)

    @staticmethod
    def _where(watch: Watch, states: tuple[str, ...] | None, run_id: int | None) -> tuple[str, tuple]:
        where, args = "watch_id = ?", (watch.id,)
        if states is not None:
            where += f" AND state IN ({','.join('?' * len(states))})"
            args += tuple(states)
        if run_id is not None:
            where += " AND last_run = ?"
            args += (run_id,)
        return where, args

    def set_state(self, watch: Watch, alert_id: int, state: str) -> dict[str, Any]:
        if state not in STATES:
            raise ValueError(f"state must be one of {', '.join(STATES)}, not {state!r}")
        with self._write() as db:
            cur = db.execute("UPDATE alerts SET state = ?, state_score = score, updated = ? WHERE id = ? AND watch_id = ? "
                             "AND state != 'suppressed'",
                             (state, time.time(), alert_id, watch.id))
            if cur.rowcount == 0:
                raise WatchNotFound(f"no alert {alert_id} in watch list {watch.name!r}")
        return next(a for a in self.alerts(watch, None) if a["id"] == alert_id)


def _alert(row: sqlite3.Row) -> dict[str, Any]:
    """An alert: the row's columns (its filing's key as ``filing_key``), then what the run recorded of both marks."""
    return {**{k: row[k] for k in row.keys() if k not in ("body", "filing")}, "filing_key": row["filing"],
            **json.loads(row["body"])}


__all__ = ["Alert", "SCHEMA", "SCHEMA_VERSION", "STATES", "Watch", "WatchExists", "WatchNotFound", "WatchStore"]
