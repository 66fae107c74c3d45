"""Background jobs (index rebuilds): pending -> running -> completed | failed, with progress and error.

Jobs run one at a time on a dedicated thread, so a rebuild never takes the threads that serve searches. The
newest ``keep`` jobs are remembered (in memory: a restart forgets finished jobs, not the index they built).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from loguru import logger

JobState = Literal["pending", "running", "completed", "failed"]


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


class JobManager:
    def __init__(self, keep: int = 100, nice: int = 5) -> None:
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._keep = keep
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="logo-sim-job",
                                            initializer=_lower_priority, initargs=(nice,))

    def submit(self, kind: str, work: Callable[[Callable[[int, int], None]], dict[str, Any]]) -> Job:
        """Queue ``work(progress)``; its return value becomes the job's result, an exception its error."""
        job = Job(id=uuid.uuid4().hex, kind=kind)
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > self._keep:
                self._jobs.popitem(last=False)
        self._executor.submit(self._run, job, work)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def _run(self, job: Job, work) -> None:
        def progress(done: int, total: int) -> None:
            job.done, job.total = done, total
            job.progress = done / total if total else 1.0

        job.state, job.started = "running", time.time()
        logger.info("job {} ({}) started", job.id, job.kind)
        try:
            job.result = work(progress)
        except Exception as exc:  # the job's failure is its result: state, message and a logged traceback
            job.error = f"{type(exc).__name__}: {exc}"
            job.state = "failed"
            logger.opt(exception=exc).error("job {} ({}) failed: {}", job.id, job.kind, job.error)
        else:
            job.progress = 1.0
            job.state = "completed"
            logger.info("job {} ({}) completed: {}", job.id, job.kind, job.result)
        finally:
            job.finished = time.time()

    def shutdown(self) -> None:
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
