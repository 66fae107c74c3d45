"""kill -9 of a real server during an add, a delete, a bulk add and a rebuild: afterwards the index is the old or
the new version, whole, and the restarted server's jobs say what happened (interrupted jobs run again)."""

from __future__ import annotations

import time

import pytest

from tests.api.conftest import copy_index, png_bytes
from tests.conftest import COLOURS, draw_logo
from tests.support.faults import Server, alive, check_root, child_pids, fire, wait_job

pytestmark = pytest.mark.skipif(not __import__("pathlib").Path("/proc/self/task").is_dir(), reason="needs Linux /proc")


def logo(i: int) -> bytes:
    return png_bytes(draw_logo(["star", "ring", "cross"][i % 3], COLOURS[i % len(COLOURS)], side=100 + 9 * i))


def test_kill_9_during_writes(built_index, tmp_path, model_cache):
    root = copy_index(built_index, tmp_path)
    server = Server(root, {"LOGO_SIM__MODEL__CACHE_DIR": str(model_cache)})
    try:
        server.start()
        client = server.client()

        # an add: killed while it embeds or saves; the item is there or not, the index whole either way
        before = check_root(root)
        fire(client, "POST", "/index/items", files={"image": ("a.png", logo(1), "image/png")}, data={"key": "K-ADD"})
        time.sleep(0.3)
        server.kill()
        after = check_root(root)
        assert after["items"] in (before["items"], before["items"] + 1) and after["staging_left"] in (0, 1)
        assert ("K-ADD" in after["keys"]) == (after["items"] == before["items"] + 1)

        # a delete
        client = server.start().client()
        before = check_root(root)
        fire(client, "DELETE", f"/index/items/{before['ids'][0]}")
        time.sleep(0.15)
        server.kill()
        after = check_root(root)
        assert after["ids"] in (before["ids"], before["ids"][1:])

        # a bulk add: killed while its job runs; the restarted server runs it again, exactly once
        client = server.start().client()
        before = check_root(root)
        files = [("images", (f"b{i}.png", logo(i + 3), "image/png")) for i in range(4)]
        job_id = client.post("/index/items:batch", files=files).json()["id"]
        time.sleep(0.4)
        server.kill()
        assert check_root(root)["items"] in (before["items"], before["items"] + 4)
        client = server.start().client()
        job = wait_job(client, job_id)
        assert job["state"] == "completed", job
        assert check_root(root)["items"] == before["items"] + 4  # never twice
        assert sum(k.startswith("b") and k.endswith(".png") for k in check_root(root)["keys"]) == 4

        # a rebuild: its process dies with the server; the restarted server runs the job again
        before = check_root(root)
        job_id = client.post("/index/rebuild").json()["id"]
        deadline = time.monotonic() + 60
        while not (children := child_pids(server.proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert children, "the rebuild process did not start"
        time.sleep(0.5)
        server.kill()
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(alive(pid) for pid in children), "the rebuild process outlived the server"
        assert check_root(root)["ids"] == before["ids"]
        client = server.start().client()
        job = wait_job(client, job_id)
        assert job["state"] == "completed" and job["attempts"] >= 2, job
        assert check_root(root)["ids"] == before["ids"]
        assert client.get("/ready").json()["ready"]
    finally:
        server.kill()
