"""Index rebuilds in a separate process, so they never compete with searches for the interpreter lock.

Measured on the 10k-item benchmark index under 8 saturating clients: run on a thread of the server, a rebuild
stalled searches for up to 1.2 s at a time (p99 944 ms over the run), since its Python parts hold the GIL.
In a spawned process the p99 was 258 ms at niceness +5 (rebuild 110 s under that load, 20 s idle) and
220 ms at +10 (rebuild 230 s); +5 is the default (``api.job_nice``).

The child is the writer: it takes the index's write lock, reads the live items from disk, re-embeds them
(embedding cache first, so a rebuild run again after an interruption redoes only what changed), saves and
switches. It dies with the server (PR_SET_PDEATHSIG on Linux), and a cancelled or timed-out job kills it; the
kernel then releases its lock, and the live version is the old one, since the switch is the last step.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import queue as queue_module
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

PR_SET_PDEATHSIG = 1


class RebuildError(RuntimeError):
    pass


def _die_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)


def _worker(settings_json: dict, root: str, spec: dict, model: str | None, parent: int, out) -> None:
    """Child process: lock, read the live items, embed, build, save and switch ``root/current``; report on ``out``.

    It inherits the niceness of the job thread that started it (``api.job_nice``).
    """
    _die_with_parent(parent)
    try:
        from functools import partial

        from logo_similarity.config import Settings
        from logo_similarity.datasets.records import record_from_metadata
        from logo_similarity.embeddings.loading import embedder_for_spec
        from logo_similarity.embeddings.spec import ModelSpec
        from logo_similarity.datasets import write_rejects
        from logo_similarity.indexing import build_with_settings
        from logo_similarity.retrieval import SearchIndex
        from logo_similarity.retrieval.store.lock import index_writer
        from logo_similarity.utils.logging import configure_logging

        settings = Settings.model_validate(settings_json)
        configure_logging(settings.log_level)
        folder = Path(root)
        embedder = embedder_for_spec(model, ModelSpec.from_dict(spec), settings)
        with index_writer(folder, "rebuild job", settings.index.lock_timeout_s):
            live = SearchIndex.load(folder, expected_spec=embedder.spec)
            ids = sorted(live.metadata)
            records = [record_from_metadata(live.metadata[i]) for i in ids]
            built, report = build_with_settings(
                records, embedder, settings, cache=folder.with_name(f".{folder.name}.embeddings.sqlite"), ids=ids,
                progress=lambda done, total: out.put(("progress", done, total)),
                make_embedder=partial(embedder_for_spec, model, ModelSpec.from_dict(spec), settings),
            )
            if report.rejects:
                first = report.rejects[0]
                out.put(("error", f"{len(report.rejects)} items could not be re-read (first: {first['file']}: "
                                  f"{first['message']}); the live index is unchanged"))
                return
            built.id_high_water = max(built.id_high_water, live.id_high_water)
            version = built.save(folder)
            write_rejects(report.rejects, version / "rejects.jsonl")
        out.put(("done", {"items": report.items, "seconds": round(report.seconds, 3),
                          "reused_embeddings": report.cached, "index_type": built.factory}))
    except Exception as exc:  # reported to the parent, which fails the job with this message
        out.put(("error", f"{type(exc).__name__}: {exc}"))


def rebuild_in_process(settings_json: dict, root: Path, spec: dict, model: str | None,
                       progress: Callable[[int, int], None] | None = None, cancel=None) -> dict[str, Any]:
    """Run the rebuild in a spawned process; returns its result or raises RebuildError with its message.

    ``cancel`` (a jobs.Cancellation) is watched while waiting: when set, the process is killed and
    ``JobCancelled`` raised.
    """
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=_worker, args=(settings_json, str(root), spec, model, os.getpid(), out),
                       name="logo-sim-rebuild")
    try:
        proc.start()
        while True:
            if cancel is not None and cancel.is_set():
                proc.kill()
                cancel.check()
            try:
                message = out.get(timeout=0.5)
            except queue_module.Empty:
                if proc.is_alive():
                    continue
                try:  # what it sent just before exiting may still be on its way
                    message = out.get(timeout=2.0)
                except queue_module.Empty:
                    raise RebuildError(f"the rebuild process exited (code {proc.exitcode}) without a result; "
                                       "the live index is unchanged") from None
            if message[0] == "progress" and progress is not None:
                progress(message[1], message[2])
            elif message[0] == "done":
                return message[1]
            elif message[0] == "error":
                raise RebuildError(message[1])
    finally:
        if proc.pid is not None:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=10)
        out.close()
