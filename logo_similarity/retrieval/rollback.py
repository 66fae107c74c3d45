"""Which version to serve when the live one cannot be: serve the last good one, or make it live again.

Versions are immutable and the newest ``keep_versions`` stay on disk, so an earlier good version is there to
fall back to when the live one's files are corrupt (or a change must be undone).
"""

from __future__ import annotations

from pathlib import Path

from loguru import logger

from logo_similarity.retrieval.index import SearchIndex
from logo_similarity.retrieval.store.errors import CorruptIndexError, IndexNotFoundError, SearchIndexError
from logo_similarity.retrieval.store.versions import live_version, switch_current, versions_newest_first


def load_servable(root: Path, mmap: bool = True) -> tuple[SearchIndex, str | None]:
    """The live version, or when its files are corrupt the newest earlier version that loads, with a warning.

    Searches go on from the last good version while an operator rolls back (``logo-sim rollback``) or rebuilds.
    """
    try:
        return SearchIndex.load(root, mmap=mmap), None
    except CorruptIndexError as exc:
        live = live_version(Path(root))
        for version in versions_newest_first(Path(root)):
            if version.resolve() == live:
                continue
            try:
                index = SearchIndex.load(version, mmap=mmap)
            except SearchIndexError:
                continue
            warning = (f"the live version {live.name} is corrupt ({exc}); serving the previous version "
                       f"{version.name} read-only: run `logo-sim rollback` or rebuild")
            logger.error(warning)
            return index, warning
        raise


def roll_back(root: Path, to: str | None = None) -> Path:
    """Switch ``root/current`` to version ``to``, or to the newest version older than the live one that loads.

    The caller holds the write lock. Nothing is deleted: the version rolled away from stays until pruned.
    """
    live = live_version(root)
    candidates = [v for v in versions_newest_first(root) if (v.name == to if to else v.name < live.name)]
    if not candidates:
        raise IndexNotFoundError(f"{root}: no version {to!r}" if to else f"{root}: no version older than {live.name}")
    problems = []
    for version in candidates:
        try:
            SearchIndex.load(version)
        except SearchIndexError as exc:
            problems.append(str(exc))
            continue
        switch_current(root, version)
        return version
    raise SearchIndexError(f"no earlier version of {root} loads: {'; '.join(problems)}")
