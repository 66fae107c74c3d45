"""Checks that a version folder holds exactly what was written: sizes and SHA-256 digests in the manifest.

A version is written once and then only read, so any difference (a truncated copy, a bit flip, a file replaced
by hand) means it must not be served. Sizes are always checked (free); digests for files up to
``hash_max_bytes`` (hashing reads the file: about 1 s per GB, paid at every load).
"""

from __future__ import annotations

from pathlib import Path

from logo_similarity.retrieval.store.errors import CorruptIndexError
from logo_similarity.utils.fs import file_sha256


def file_digests(folder: Path) -> dict[str, dict]:
    """{name: {"bytes": n, "sha256": hex}} for every file of a (staged) version folder but its manifest."""
    return {p.name: {"bytes": p.stat().st_size, "sha256": file_sha256(p)}
            for p in sorted(Path(folder).iterdir()) if p.is_file() and p.name != "manifest.json"}


def verify_files(folder: Path, recorded: dict[str, dict] | None, hash_max_bytes: int) -> None:
    """Raise CorruptIndexError naming the first file that is missing, of the wrong size, or changed."""
    for name, expected in (recorded or {}).items():
        path = Path(folder) / name
        if not path.is_file():
            raise CorruptIndexError(f"{folder}: {name} is missing")
        size = path.stat().st_size
        if size != expected["bytes"]:
            raise CorruptIndexError(f"{folder}: {name} has {size} bytes, {expected['bytes']} were written")
        if size <= hash_max_bytes and file_sha256(path) != expected["sha256"]:
            raise CorruptIndexError(f"{folder}: {name} differs from what was written (SHA-256 mismatch)")
