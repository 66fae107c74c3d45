"""Index versions on disk: immutable version folders and an atomically switched ``current`` pointer."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from logo_similarity.utils.fs import fsync_dir


def live_version(root: Path) -> Path:
    """The folder a reader should open: ``root/current`` resolved, or ``root`` itself if it is a version."""
    current = root / "current"
    if current.is_symlink() or current.is_dir():
        return current.resolve()
    return root


def switch_current(root: Path, version: Path) -> None:
    """Point ``root/current`` at ``version`` in one atomic rename (readers see old or new, never neither)."""
    link = root / f".current.tmp-{os.getpid()}"
    link.unlink(missing_ok=True)
    link.symlink_to(version.relative_to(root))
    os.replace(link, root / "current")
    fsync_dir(root)


def prune_versions(root: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` versions; the live one is never deleted.

    Staging folders (``versions/.<name>.tmp``) left by a writer that died mid-write (kill -9, disk full) go too:
    writers hold the index's write lock while saving, so none is being written by anyone else now.
    """
    for staging in (root / "versions").glob(".*.tmp"):
        if staging.is_dir():
            shutil.rmtree(staging, ignore_errors=True)
    live = live_version(root)
    versions = sorted((p for p in (root / "versions").iterdir() if p.is_dir() and not p.name.startswith(".")),
                      key=lambda p: p.name)
    doomed = [p for p in versions[: max(0, len(versions) - max(1, keep))] if p.resolve() != live]
    for path in doomed:
        shutil.rmtree(path, ignore_errors=True)
    return doomed


def versions_newest_first(root: Path) -> list[Path]:
    """Every complete version folder under ``root/versions``, newest first."""
    folder = root / "versions"
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name,
                  reverse=True)
