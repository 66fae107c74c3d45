"""One writer at a time on an index root, across threads and processes (server, CLI runs, rebuild jobs).

Every change is load - modify - save as a new version; two writers doing that at once would each start from
the same version and the second switch would silently drop the first one's change. Writers therefore hold
an exclusive ``flock`` on ``ROOT/.write.lock`` from the load to the switch. The kernel releases it when the
holder exits, even on kill -9, so a crashed writer never leaves the index locked. The file records who holds
it, for the message a waiting writer gives up with. Separate ``open`` calls conflict even within one process,
so the lock also serialises threads.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from logo_similarity.retrieval.store.errors import SearchIndexError

LOCK_NAME = ".write.lock"


class IndexLockedError(SearchIndexError):
    """Another writer held the index for longer than we were willing to wait."""


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return "another writer"
    return f"{info.get('what', 'a writer')} (pid {info.get('pid', '?')}, since {info.get('since', '?')})"


@contextmanager
def index_writer(root: str | Path, what: str, timeout_s: float = 300.0, poll_s: float = 0.05) -> Iterator[None]:
    """Hold the write lock of index ``root`` (created if missing) for the body; wait up to ``timeout_s``."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IndexLockedError(
                        f"{root} is being changed by {_holder(path)}; waited {timeout_s:g}s. "
                        "Retry when it is done (or raise index.lock_timeout_s)."
                    ) from None
                time.sleep(poll_s)
        info = json.dumps({"pid": os.getpid(), "what": what, "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        os.ftruncate(fd, 0)
        os.pwrite(fd, info.encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
