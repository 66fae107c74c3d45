"""Index writes through the API: add, delete, rebuild jobs, and the switch to each new version."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from logo_similarity.api.app import create_app
from logo_similarity.api.job_store import JobStore
from logo_similarity.api.service import SearchService
from tests.api.conftest import KEY, copy_index, png_bytes
from tests.conftest import COLOURS, draw_logo

AUTH = {"X-API-Key": KEY}


def wait_for_job(client, job_id: str, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/jobs/{job_id}").json()
        if job["state"] in ("completed", "failed", "cancelled"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


def test_add_search_and_delete_an_item(writable_client):
    client = writable_client
    before = client.get("/stats").json()
    logo = png_bytes(draw_logo("crescent", (0, 0, 0), side=150).rotate(90))
    r = client.post("/index/items", headers=AUTH, files={"image": ("moon.png", logo, "image/png")},
                    data={"name": "LUNA", "vienna_codes": "01.07.01, 01.07.06", "year": "2021", "key": "EM-42"})
    assert r.status_code == 201, r.text
    added = r.json()
    assert added["id"] == 12 and added["index_version"] != before["index_version"]
    item = client.get(f"/items/{added['id']}").json()
    assert (item["name"], item["key"], item["vienna_codes"], item["year"]) == ("LUNA", "EM-42", ["01.07.01", "01.07.06"], 2021)
    assert client.get(item["image_url"]).content == logo
    found = client.post("/search", files={"image": ("q.png", logo, "image/png")}, data={"k": "1"}).json()
    assert found["results"][0]["id"] == 12
    assert client.post("/search", data={"text": "LOONA", "k": "1"}).json()["results"][0]["name"] == "LUNA"
    r = client.delete(f"/index/items/{added['id']}", headers=AUTH)
    assert r.status_code == 200 and r.json()["deleted"]
    assert client.get(f"/items/{added['id']}").status_code == 404
    assert client.get("/stats").json()["items"] == before["items"]


def test_rebuild_job_runs_to_completion_and_keeps_ids(writable_client):
    client = writable_client
    client.delete("/index/items/5", headers=AUTH)  # a gap in the ids must survive the rebuild
    version = client.get("/stats").json()["index_version"]
    r = client.post("/index/rebuild", headers=AUTH)
    assert r.status_code == 202 and r.headers["location"] == f"/jobs/{r.json()['id']}"
    assert r.json()["state"] in ("pending", "running", "completed")
    job = wait_for_job(client, r.json()["id"])
    assert job["state"] == "completed", job
    assert job["progress"] == 1.0 and job["done"] == job["total"] == 11 and job["error"] is None
    assert job["result"]["items"] == 11 and job["result"]["version"] != version
    stats = client.get("/stats").json()
    assert stats["index_version"] == job["result"]["version"] and stats["swaps"] >= 2
    assert client.get("/items/5").status_code == 404 and client.get("/items/11").json()["name"] == "CRESCENT"
    top = client.post("/search/by-id/11?k=1").json()["results"][0]
    assert top["id"] == 11


def test_failed_rebuild_reports_why_and_keeps_the_live_index(writable_client, service):
    client = writable_client
    live = client.app.state.service.live
    victim = live.index.metadata[0]["file"]
    from pathlib import Path

    moved = Path(victim).with_suffix(".moved")
    Path(victim).rename(moved)
    try:
        job = wait_for_job(client, client.post("/index/rebuild", headers=AUTH).json()["id"])
    finally:
        moved.rename(victim)
    assert job["state"] == "failed" and "could not be re-read" in job["error"] and job["result"] is None
    assert client.app.state.service.live.version == live.version
    assert client.get("/stats").json()["items"] == 12


def test_writes_wait_for_no_one_but_a_rebuild_refuses_them(writable_client):
    from logo_similarity.retrieval.store.lock import index_writer

    client = writable_client
    root = client.app.state.service.root
    with index_writer(root, "test: another writer"):  # the rebuild waits for it, so it is surely still running
        job_id = client.post("/index/rebuild", headers=AUTH).json()["id"]
        r = client.delete("/index/items/1", headers=AUTH)
        assert r.status_code == 409 and r.json()["reason"] == "rebuild_running" and r.headers["retry-after"]
        r = client.post("/index/rebuild", headers=AUTH)
        assert r.status_code == 409 and r.json()["reason"] == "rebuild_running"
        assert client.delete(f"/jobs/{job_id}", headers=AUTH).status_code == 202
        assert wait_for_job(client, job_id)["state"] == "cancelled"
    assert client.delete("/index/items/1", headers=AUTH).status_code == 200


def test_item_image_missing_on_disk_is_404(writable_client, tmp_path):
    client = writable_client
    logo = png_bytes(draw_logo("key", COLOURS[2]))
    item_id = client.post("/index/items", headers=AUTH, files={"image": ("k.png", logo, "image/png")}).json()["id"]
    path = client.app.state.service.live.index.metadata[item_id]["file"]
    from pathlib import Path

    Path(path).unlink()
    r = client.get(f"/items/{item_id}/image")
    assert r.status_code == 404 and r.json()["reason"] == "image_missing"


def test_a_rebuild_process_that_dies_at_start_fails_the_job_instead_of_hanging(built_index, tmp_path, api_settings):
    """From `python -` a spawned child cannot import __main__ and dies at once: the parent must notice."""
    import subprocess
    import sys

    script = f"""
from pathlib import Path
from logo_similarity.api.rebuild import RebuildError, rebuild_in_process
from logo_similarity.retrieval import SearchIndex
index = SearchIndex.load({str(built_index)!r})
try:
    rebuild_in_process({{}}, Path({str(built_index)!r}), index.spec.to_dict(), None)
except RebuildError as exc:
    print("FAILED CLEANLY:", exc)
"""
    done = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True, timeout=120)
    assert "FAILED CLEANLY: the rebuild process exited" in done.stdout, done.stderr[-2000:]


def test_uploaded_images_go_when_no_kept_version_refers_to_them(writable_client):
    client = writable_client
    root = client.app.state.service.root
    uploads = root / "uploads"
    logo = png_bytes(draw_logo("triangle", (10, 20, 200), side=140))
    item = client.post("/index/items", headers=AUTH, files={"image": ("t.png", logo, "image/png")}).json()["id"]
    stored = list(uploads.iterdir())
    assert len(stored) == 1 and stored[0].read_bytes() == logo
    stray = uploads / ("ab" * 32 + ".png")  # an upload whose add never finished (a crash between store and save)
    stray.write_bytes(logo)
    mine = uploads / "README.txt"  # not ours: never touched
    mine.write_text("notes")
    assert client.delete(f"/index/items/{item}", headers=AUTH).status_code == 200
    # the previous version (kept for roll-back) still holds the item, so its image stays; the stray one goes
    assert stored[0].exists() and not stray.exists() and mine.exists()
    other = png_bytes(draw_logo("ring", (200, 20, 10), side=140))
    assert client.post("/index/items", headers=AUTH, files={"image": ("r.png", other, "image/png")}).status_code == 201
    assert not stored[0].exists() and mine.exists()  # no kept version refers to it any more
    assert len([p for p in uploads.iterdir() if p.suffix == ".png"]) == 1


def wait_for_state(client, job_id: str, state: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while (job := client.get(f"/jobs/{job_id}").json())["state"] != state:
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
    return job


def test_a_running_rebuild_can_be_cancelled_and_frees_writes(writable_client):
    client = writable_client
    version = client.get("/stats").json()["index_version"]
    job_id = client.post("/index/rebuild", headers=AUTH).json()["id"]
    wait_for_state(client, job_id, "running")
    r = client.delete(f"/jobs/{job_id}", headers=AUTH)
    assert r.status_code == 202, r.text
    job = wait_for_job(client, job_id)
    assert (job["state"], job["error"]) == ("cancelled", "cancelled on request")
    assert client.get("/stats").json()["index_version"] == version  # the live index is unchanged
    # the rebuild process (which held the index's write lock) is gone: writes go through at once
    assert client.delete("/index/items/2", headers=AUTH).status_code == 200
    r = client.delete(f"/jobs/{job_id}", headers=AUTH)
    assert r.status_code == 409 and r.json()["reason"] == "job_finished"
    assert client.delete("/jobs/nope", headers=AUTH).status_code == 404
    assert client.delete(f"/jobs/{job_id}").status_code == 401  # cancelling is a write: it needs the key


def test_a_hung_rebuild_times_out_and_frees_writes(api_settings, built_index, tmp_path):
    settings = api_settings.model_copy(update={"api": api_settings.api.model_copy(update={"job_timeout_s": 0.5})})
    svc = SearchService(settings, copy_index(built_index, tmp_path))
    svc.load()
    with TestClient(create_app(settings, service=svc)) as client:
        job = wait_for_job(client, client.post("/index/rebuild", headers=AUTH).json()["id"])
        assert job["state"] == "failed" and "timed out after 0.5s" in job["error"]
        assert client.delete("/index/items/2", headers=AUTH).status_code == 200


def test_jobs_survive_a_restart_and_an_interrupted_rebuild_runs_again(api_settings, built_index, tmp_path):
    root = copy_index(built_index, tmp_path)
    svc = SearchService(api_settings, root)
    svc.load()
    with TestClient(create_app(api_settings, service=svc)) as client:
        done_id = client.post("/index/rebuild", headers=AUTH).json()["id"]
        assert wait_for_job(client, done_id)["state"] == "completed"
    # the server died while a rebuild ran: its record says running
    JobStore(root / "jobs.sqlite").save({
        "id": "interrupted", "kind": "rebuild", "state": "running", "progress": 0.25, "done": 3, "total": 12,
        "error": None, "result": None, "created": time.time(), "started": time.time(), "finished": None,
        "attempts": 1, "params": {}})
    restarted = SearchService(api_settings, root)  # a fresh process: loads the index itself
    with TestClient(create_app(api_settings, service=restarted)) as client:
        listed = [j["id"] for j in client.get("/jobs").json()]
        assert listed[:2] == ["interrupted", done_id]
        assert client.get(f"/jobs/{done_id}").json()["state"] == "completed"
        job = wait_for_job(client, "interrupted")
        assert job["state"] == "completed" and job["attempts"] == 2 and job["result"]["items"] == 12, job


def test_blocked_writers_have_their_own_limit_and_never_starve_searches(api_settings, built_index, tmp_path,
                                                                         query_png):
    import threading

    from logo_similarity.retrieval.store.lock import index_writer

    settings = api_settings.model_copy(update={"api": api_settings.api.model_copy(update={"max_writes_in_flight": 2})})
    root = copy_index(built_index, tmp_path)
    svc = SearchService(settings, root)
    svc.load()
    with TestClient(create_app(settings, service=svc)) as client:
        statuses = []
        with index_writer(root, "a CLI add"):  # another process holds the index: API writes must wait
            writers = [threading.Thread(target=lambda i=i: statuses.append(
                client.delete(f"/index/items/{i}", headers=AUTH).status_code)) for i in (1, 2)]
            for w in writers:
                w.start()
            deadline = time.monotonic() + 30
            while client.app.state.write_admission.in_flight < 2:
                assert time.monotonic() < deadline
                time.sleep(0.01)
            r = client.delete("/index/items/3", headers=AUTH)
            assert r.status_code == 503 and r.json()["reason"] == "busy" and "writes in flight" in r.json()["detail"]
            found = client.post("/search", files={"image": ("q.png", query_png, "image/png")}, data={"k": "3"})
            assert found.status_code == 200  # searches go on while writers wait
            assert statuses == []
        for w in writers:
            w.join(60)
        assert statuses == [200, 200]
        assert client.get("/stats").json()["items"] == 10


def test_images_changed_or_removed_under_a_built_index(api_settings, tmp_path):
    from logo_similarity.config import ImageSettings
    from logo_similarity.datasets import LogoRecord
    from logo_similarity.embeddings import ThumbnailEmbedder
    from logo_similarity.indexing import BuildRequest, build_index

    from tests.conftest import KINDS

    paths = []
    for i in range(12):
        path = tmp_path / f"{i}.png"
        draw_logo(KINDS[i % len(KINDS)], COLOURS[i % len(COLOURS)], side=100 + 5 * i).save(path)
        paths.append(path)
    root = tmp_path / "idx"
    build_index(BuildRequest([LogoRecord(p.name, p) for p in paths], image=ImageSettings()), ThumbnailEmbedder())[0].save(root)
    svc = SearchService(api_settings, root)
    svc.load()
    with TestClient(create_app(api_settings, service=svc)) as client:
        version = client.get("/stats").json()["index_version"]
        paths[3].rename(tmp_path / "gone")  # removed: searches go on, its image is a clear 404, a rebuild refuses
        r = client.get("/items/3/image")
        assert r.status_code == 404 and r.json()["reason"] == "image_missing"
        query = {"image": ("q.png", paths[0].read_bytes(), "image/png")}
        assert client.post("/search", files=query, data={"k": "3"}).json()["results"][0]["id"] == 0
        job = wait_for_job(client, client.post("/index/rebuild", headers=AUTH).json()["id"])
        assert job["state"] == "failed" and "3.png" in job["error"]
        assert client.get("/stats").json()["index_version"] == version

        (tmp_path / "gone").rename(paths[3])
        assert wait_for_job(client, client.post("/index/rebuild", headers=AUTH).json()["id"])["state"] == "completed"
        changed = draw_logo("cross", (250, 120, 0), side=160).rotate(30)  # item 4 redrawn under the index
        changed.save(paths[4])
        job = wait_for_job(client, client.post("/index/rebuild", headers=AUTH).json()["id"])
        assert job["state"] == "completed" and job["result"]["reused_embeddings"] == 11  # only it re-embedded
        found = client.post("/search", files={"image": ("q.png", png_bytes(changed), "image/png")},
                            data={"k": "1"}).json()["results"]
        assert found[0]["id"] == 4 and found[0]["score"] > 0.99
