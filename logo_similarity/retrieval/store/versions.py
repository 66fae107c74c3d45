"""Index versions on disk: immutable version folders and an atomically switched ``current`` pointer."""

from __future__ import annotations

import calendar
import os
import shutil
import time
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


def _stamp(ns: int) -> str:
    seconds, fraction = divmod(ns, 10**9)
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(seconds)) + f"-{fraction:09d}"


def _stamp_ns(name: str) -> int | None:
    try:
        return calendar.timegm(time.strptime(name[:15], "%Y%m%dT%H%M%S")) * 10**9 + int(name[16:25])
    except ValueError:
        return None


def new_version_name(root: Path) -> str:
    """A version name that sorts after every existing one: rollback and pruning order versions by name.

    Seconds and nanoseconds come from one clock reading (``time.gmtime()`` alone reads a coarse clock that can
    lag a tick behind ``time_ns``, which once named a newer version before an older one); a clock stepped back
    still names the new version after the newest.
    """
    ns = time.time_ns()
    newest = versions_newest_first(Path(root))
    last = _stamp_ns(newest[0].name) if newest else None
    if last is not None and ns <= last:
        ns = last + 1
    return f"{_stamp(ns)}-{os.getpid()}"
