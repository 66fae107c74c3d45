"""Durable file writes: what survives a crash is either the old file or the complete new one."""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO


def fsync_dir(folder: Path) -> None:
    """Persist a folder's entries (a rename is durable only once its folder is synced)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's content, read in 1 MB blocks (model weights and index files can be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary name, fsync it, rename it over ``path``, fsync the folder."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


@contextmanager
def atomic_text_writer(path: Path) -> Iterator[TextIO]:
    """``atomic_write`` for what is written piece by piece (a report of 200,000 alerts): a UTF-8 text file under a
    temporary name, renamed over ``path`` only when the block ends without an error (the temporary file is
    removed otherwise)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})


class DiskFullError(OSError):
    """A write ran out of space (or hit a file size limit); what it was writing was not made live."""


def is_disk_full(exc: BaseException) -> bool:
    """True for the ways libraries report a full disk: OSError errnos, SQLite's and FAISS's messages."""
    if isinstance(exc, OSError):
        return exc.errno in DISK_FULL_ERRNOS or isinstance(exc, DiskFullError)
    text = str(exc)
    # SQLite reports a write refused for lack of space as "disk I/O error" when the file cannot grow
    return any(marker in text for marker in ("database or disk is full", "disk I/O error", "No space left",
                                             "File too large", "Disk quota exceeded"))
