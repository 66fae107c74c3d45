"""JobManager on its own: states, progress, errors, cancel, timeout, the SQLite record and restart recovery."""

from __future__ import annotations

import os
import threading
import time

import pytest

from logo_similarity.api.job_store import JobStore
from logo_similarity.api.jobs import JobManager


def wait(manager: JobManager, job_id: str):
    deadline = time.monotonic() + 10
    while manager.get(job_id).state in ("pending", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return manager.get(job_id)


def test_job_states_progress_and_result(tmp_path):
    manager, started, gate = JobManager(tmp_path / "jobs.sqlite"), threading.Event(), threading.Event()

    def work(progress, cancel):
        progress(1, 4)
        started.set()
        gate.wait(5)
        progress(4, 4)
        return {"answer": 42}

    job = manager.submit("demo", work)
    assert started.wait(5)
    running = manager.get(job.id)
    assert running.state == "running" and running.progress == 0.25 and running.attempts == 1
    gate.set()
    done = wait(manager, job.id)
    assert (done.state, done.progress, done.result, done.error) == ("completed", 1.0, {"answer": 42}, None)
    assert done.started <= done.finished
    manager.shutdown()
    # a restarted server sees the finished job as it was
    again = JobManager(tmp_path / "jobs.sqlite").get(job.id)
    assert (again.state, again.result, again.kind) == ("completed", {"answer": 42}, "demo")


def test_failed_job_keeps_its_error(tmp_path):
    manager = JobManager(tmp_path / "jobs.sqlite")

    def work(progress, cancel):
        raise RuntimeError("disk full")

    done = wait(manager, manager.submit("demo", work).id)
    assert done.state == "failed" and done.error == "RuntimeError: disk full" and done.result is None
    manager.shutdown()


def test_cancel_a_running_and_a_pending_job(tmp_path):
    manager, started = JobManager(tmp_path / "jobs.sqlite"), threading.Event()

    def work(progress, cancel):
        started.set()
        cancel.event.wait(10)
        cancel.check()
        return {"finished": True}

    running = manager.submit("demo", work)
    queued = manager.submit("demo", work)  # one job at a time: this one waits
    assert started.wait(5)
    assert manager.cancel(queued.id) == (queued, True) and manager.get(queued.id).state == "cancelled"
    assert manager.cancel(running.id)[1]
    done = wait(manager, running.id)
    assert (done.state, done.error, done.result) == ("cancelled", "cancelled on request", None)
    assert manager.cancel(running.id) == (done, False)  # already finished: nothing to apply
    assert manager.cancel("nope") == (None, False)
    manager.shutdown()


def test_a_hung_job_times_out_and_fails(tmp_path):
    manager = JobManager(tmp_path / "jobs.sqlite", timeout_s=0.3)

    def hung(progress, cancel):
        cancel.event.wait(30)
        cancel.check()

    done = wait(manager, manager.submit("demo", hung).id)
    assert done.state == "failed" and "timed out after 0.3s" in done.error
    manager.shutdown()


def test_jobs_a_restart_interrupted_are_resumed_or_failed(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    base = {"progress": 0.5, "done": 1, "total": 2, "error": None, "result": None, "started": 1.0,
            "finished": None, "attempts": 1, "params": {}}
    store.save({**base, "id": "r1", "kind": "rebuild", "state": "running", "created": 1.0})
    store.save({**base, "id": "x1", "kind": "mystery", "state": "pending", "created": 2.0})
    manager = JobManager(tmp_path / "jobs.sqlite")
    interrupted = manager.recover({"rebuild": lambda job: lambda progress, cancel: {"resumed": job.id}})
    assert sorted(j.id for j in interrupted) == ["r1", "x1"]
    resumed = wait(manager, "r1")
    assert (resumed.state, resumed.result, resumed.attempts) == ("completed", {"resumed": "r1"}, 2)
    failed = manager.get("x1")
    assert failed.state == "failed" and "interrupted by a server restart" in failed.error
    manager.shutdown()


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="no per-thread priorities here")
def test_jobs_run_at_lower_priority(tmp_path):
    manager = JobManager(tmp_path / "jobs.sqlite", nice=5)
    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    job = manager.submit("demo", lambda progress, cancel: {"nice": os.getpriority(os.PRIO_PROCESS,
                                                                                    threading.get_native_id())})
    assert wait(manager, job.id).result == {"nice": min(19, base + 5)}
    manager.shutdown()
