"""JobManager on its own: states, progress, errors, and the lowered priority of the job thread."""

from __future__ import annotations

import os
import threading
import time

import pytest

from logo_similarity.api.jobs import JobManager


def wait(manager: JobManager, job_id: str):
    deadline = time.monotonic() + 10
    while manager.get(job_id).state in ("pending", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return manager.get(job_id)


def test_job_states_progress_and_result():
    manager, gate = JobManager(), threading.Event()

    def work(progress):
        progress(1, 4)
        gate.wait(5)
        progress(4, 4)
        return {"answer": 42}

    job = manager.submit("demo", work)
    time.sleep(0.1)
    assert manager.get(job.id).state == "running" and manager.get(job.id).progress == 0.25
    gate.set()
    done = wait(manager, job.id)
    assert (done.state, done.progress, done.result, done.error) == ("completed", 1.0, {"answer": 42}, None)
    assert done.started <= done.finished
    manager.shutdown()


def test_failed_job_keeps_its_error():
    manager = JobManager()

    def work(progress):
        raise RuntimeError("disk full")

    done = wait(manager, manager.submit("demo", work).id)
    assert done.state == "failed" and done.error == "RuntimeError: disk full" and done.result is None
    manager.shutdown()


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="no per-thread priorities here")
def test_jobs_run_at_lower_priority():
    manager = JobManager(nice=5)
    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    job = manager.submit("demo", lambda progress: {"nice": os.getpriority(os.PRIO_PROCESS, threading.get_native_id())})
    assert wait(manager, job.id).result == {"nice": min(19, base + 5)}
    manager.shutdown()
