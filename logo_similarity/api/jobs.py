"""Background jobs (rebuilds, bulk adds): pending -> running -> completed | failed | cancelled.

Jobs run one at a time on a dedicated thread, so they never take the threads that serve searches. Every job is
recorded in SQLite (``ROOT/jobs.sqlite`` beside the index versions), so a restarted server still shows them;
a job the restart interrupted is run again when its kind can resume (``recover``), else marked failed with
the reason. A job can be cancelled (``cancel``) and fails by itself after ``timeout_s``: its work watches a
``Cancellation`` and stops (a rebuild kills its process), which frees the index for writes again.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from loguru import logger

from logo_similarity.api.job_store import JobStore

JobState = Literal["pending", "running", "completed", "failed", "cancelled"]
FINISHED = ("completed", "failed", "cancelled")
Work = Callable[[Callable[[int, int], None], "Cancellation"], dict[str, Any]]


class JobCancelled(RuntimeError):
    """Raised by a job's work when its cancellation was requested (or its time ran out)."""


class Cancellation:
    """Set by ``JobManager.cancel`` or by the job's timeout; work polls ``check()`` or waits on ``event``."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reason = ""
        self.cause: Literal["request", "timeout", "shutdown", ""] = ""

    def set(self, reason: str, cause: Literal["request", "timeout", "shutdown"] = "request") -> None:
        if not self.event.is_set():
            self.reason, self.cause = reason, cause
            self.event.set()

    def is_set(self) -> bool:
        return self.event.is_set()

    def check(self) -> None:
        if self.event.is_set():
            raise JobCancelled(self.reason)


@dataclass
class Job:
    id: str
    kind: str
    state: JobState = "pending"
    progress: float = 0.0
    done: int = 0
    total: int = 0
    error: str | None = None
    result: dict[str, Any] | None = None
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    attempts: int = 0
    params: dict[str, Any] = field(default_factory=dict)


class JobManager:
    def __init__(self, store: Path | None = None, keep: int = 100, nice: int = 5, timeout_s: float = 3600.0) -> None:
        self._store = JobStore(store, keep) if store is not None else None
        names = {f.name for f in fields(Job)}
        recorded = self._store.load() if self._store else []
        self._jobs: dict[str, Job] = {j["id"]: Job(**{k: v for k, v in j.items() if k in names}) for j in recorded}
        self._cancels: dict[str, Cancellation] = {}
        self._lock = threading.Lock()
        self._timeout_s = timeout_s
        self._keep = keep
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="logo-sim-job",
                                            initializer=_lower_priority, initargs=(nice,))

    def submit(self, kind: str, work: Work, params: dict[str, Any] | None = None, job: Job | None = None,
               job_id: str | None = None) -> Job:
        """Queue ``work(progress, cancellation)``; its return value becomes the job's result, an exception its
        error. ``job`` re-queues a recorded job under its own id (a resumed one); ``job_id`` names a new one."""
        job = job or Job(id=job_id or uuid.uuid4().hex, kind=kind, params=dict(params or {}))
        job.state, job.error, job.result, job.started, job.finished = "pending", None, None, None, None
        cancel = Cancellation()
        with self._lock:
            self._jobs[job.id] = job
            self._cancels[job.id] = cancel
            finished = sorted((j for j in self._jobs.values() if j.state in FINISHED), key=lambda j: j.created)
            for old in finished[: max(0, len(finished) - self._keep)]:
                del self._jobs[old.id]
                self._cancels.pop(old.id, None)
        self._save(job)
        self._executor.submit(self._run, job, work, cancel)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def list(self, limit: int = 20) -> list[Job]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.created, reverse=True)[:limit]

    def cancel(self, job_id: str) -> tuple[Job | None, bool]:
        """Ask a job to stop: a pending one never starts, a running one stops at its next check.

        Returns the job (None if unknown) and whether it was still unfinished, so the request could apply.
        """
        job = self.get(job_id)
        if job is None or job.state in FINISHED:
            return job, False
        self._cancels[job_id].set("cancelled on request")
        if job.state == "pending":
            self._finish(job, "cancelled", "cancelled on request")
        return job, True

    def recover(self, resumable: dict[str, Callable[[Job], Work | None]]) -> list[Job]:
        """Jobs a restart interrupted: re-queued when ``resumable[kind](job)`` gives work, else failed."""
        interrupted = [j for j in self.list(limit=10**9) if j.state not in FINISHED]
        for job in sorted(interrupted, key=lambda j: j.created):
            work = resumable[job.kind](job) if job.kind in resumable and job.attempts < 3 else None
            if work is None:
                self._finish(job, "failed", "interrupted by a server restart; the live index is unchanged")
            else:
                logger.info("job {} ({}) was interrupted by a restart: running it again", job.id, job.kind)
                self.submit(job.kind, work, job=job)
        return interrupted

    def _run(self, job: Job, work: Work, cancel: Cancellation) -> None:
        if job.state == "cancelled":
            return
        last_saved = [0.0]

        def progress(done: int, total: int) -> None:
            job.done, job.total = done, total
            job.progress = done / total if total else 1.0
            if time.monotonic() - last_saved[0] > 0.5 or done == total:
                last_saved[0] = time.monotonic()
                self._save(job)

        timer = threading.Timer(self._timeout_s, cancel.set, args=(f"timed out after {self._timeout_s:g}s", "timeout"))
        timer.daemon = True
        job.state, job.started, job.attempts = "running", time.time(), job.attempts + 1
        self._save(job)
        logger.info("job {} ({}) started", job.id, job.kind)
        timer.start()
        try:
            result = work(progress, cancel)
        except JobCancelled as exc:
            if cancel.cause == "shutdown":  # left unfinished in the store: the next start resumes it
                job.state = "pending"
                self._save(job)
            else:
                self._finish(job, "failed" if cancel.cause == "timeout" else "cancelled", str(exc))
        except Exception as exc:  # the job's failure is its result: state, message and a logged traceback
            logger.opt(exception=exc).error("job {} ({}) failed: {}", job.id, job.kind, exc)
            self._finish(job, "failed", f"{type(exc).__name__}: {exc}")
        else:
            job.result, job.progress = result, 1.0
            self._finish(job, "completed", None)
        finally:
            timer.cancel()

    def _finish(self, job: Job, state: JobState, error: str | None) -> None:
        job.state, job.error, job.finished = state, error, time.time()
        log = logger.info if state == "completed" else logger.warning
        log("job {} ({}) {}: {}", job.id, job.kind, state, job.result if state == "completed" else error)
        self._save(job)

    def _save(self, job: Job) -> None:
        if self._store is not None:
            self._store.save(asdict(job))

    def shutdown(self) -> None:
        """Stop: queued jobs stay pending in the store (a restart resumes them); a running one is cancelled."""
        for job_id, cancel in list(self._cancels.items()):
            if self._jobs[job_id].state == "running":
                cancel.set("the server is shutting down", "shutdown")
        self._executor.shutdown(wait=True, cancel_futures=True)


def _lower_priority(nice: int) -> None:
    """Give the job thread (and the threads it starts: OpenMP, onnxruntime) a lower CPU priority than searches.

    Linux schedules threads individually and new threads inherit their creator's niceness, so a rebuild uses
    the cores searches leave idle instead of competing with them. Elsewhere this is a no-op.
    """
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
    except OSError as exc:  # not permitted in some sandboxes: jobs then run at normal priority
        logger.warning("could not lower the job thread's priority: {}", exc)
