"""Client keys beside the service's own (admin) key: ``logo-sim keys create NAME --role search|watch``.

A client key is shown once, when made; only its SHA-256 is stored (``api.keys_file``, SQLite), with the client's
name, its role and whether it was revoked. A random 32-byte key needs no slow hash: nobody can guess one from its
digest. Roles: ``search`` (searches and reads), ``watch`` (those and the client's own watch lists). The admin key
(``api.api_key``) can do everything, index writes included, and sees every client's watch lists.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROLES = ("search", "watch")
ADMIN = "admin"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (
    name TEXT PRIMARY KEY,
    digest TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    created REAL NOT NULL,
    revoked REAL
);
"""


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: the admin (the service's key, or no key in dev mode) or a client."""

    name: str
    role: str  # "admin" | "search" | "watch"

    @property
    def admin(self) -> bool:
        return self.role == ADMIN

    def may(self, role: str) -> bool:
        return self.admin or self.role == role or (role == "search" and self.role == "watch")


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyStore:
    """The client keys; a store whose file does not exist yet knows none (the service never creates it)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @contextmanager
    def _db(self, create: bool = False) -> Iterator[sqlite3.Connection]:
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path if create else f"file:{self.path}?mode=rw", uri=not create, timeout=30)
        db.row_factory = sqlite3.Row
        try:
            if create:
                db.executescript(SCHEMA)
            with db:
                yield db
        finally:
            db.close()

    def create(self, name: str, role: str) -> str:
        """A new key for client ``name`` with ``role``; the key itself is returned once and never stored."""
        if not NAME.match(name) or name == ADMIN:
            raise ValueError(f"a client name is 1-64 letters, digits, '_', '.', '-' (and not {ADMIN!r}), not {name!r}")
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        key = "lsk_" + secrets.token_urlsafe(32)
        with self._db(create=True) as db:
            try:
                db.execute("INSERT INTO keys (name, digest, role, created) VALUES (?, ?, ?, ?)",
                           (name, digest(key), role, time.time()))
            except sqlite3.IntegrityError:
                raise ValueError(f"client {name!r} has a key already (revoke it first)") from None
        return key

    def lookup(self, key: str) -> Principal | None:
        """The client of a valid (not revoked) key, else None."""
        if not self.path.exists():
            return None
        with self._db() as db:
            row = db.execute("SELECT name, role FROM keys WHERE digest = ? AND revoked IS NULL", (digest(key),)).fetchone()
        return Principal(row["name"], row["role"]) if row else None

    def revoke(self, name: str) -> None:
        if not self.path.exists():
            raise KeyError(name)
        with self._db() as db:
            if db.execute("UPDATE keys SET revoked = ?, name = name || '~' || CAST(? AS TEXT) WHERE name = ? AND "
                          "revoked IS NULL", (time.time(), time.time_ns(), name)).rowcount == 0:
                raise KeyError(name)

    def clients(self) -> list[dict]:
        """Every key's client, role and dates (never the key)."""
        if not self.path.exists():
            return []
        with self._db() as db:
            return [dict(r) | {"name": r["name"].split("~")[0]}
                    for r in db.execute("SELECT name, role, created, revoked FROM keys ORDER BY created")]


__all__ = ["ADMIN", "KeyStore", "Principal", "ROLES", "digest"]
