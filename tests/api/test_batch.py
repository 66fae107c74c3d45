"""Bulk add: many images + a JSONL of their metadata, one job, one new index version."""

from __future__ import annotations

import json
import shutil

from tests.api.conftest import KEY, png_bytes
from tests.api.test_index_jobs import wait_for_job
from tests.conftest import COLOURS, KINDS, draw_logo

AUTH = {"X-API-Key": KEY}


def batch_files(n: int, broken: bool = False):
    files = [("images", (f"mark-{i}.png", png_bytes(draw_logo(KINDS[i % len(KINDS)], COLOURS[(i + 2) % len(COLOURS)],
                                                                   side=120 + 7 * i)), "image/png")) for i in range(n)]
    if broken:
        files.append(("images", ("broken.png", b"\x89PNG\r\n\x1a\n not really", "image/png")))
    return files


def metadata(lines) -> tuple:
    return ("metadata", ("meta.jsonl", "\n".join(json.dumps(x) for x in lines).encode(), "application/x-ndjson"))


def test_a_batch_adds_every_readable_image_as_one_version(writable_client):
    client = writable_client
    root = client.app.state.service.root
    before = client.get("/stats").json()
    lines = [{"file": "mark-0.png", "text": "STELLA", "vienna_codes": ["01.01.01"], "year": 2019, "id": "EM-1"},
             {"file": "mark-1.png", "text": "ANELLO"}]
    r = client.post("/index/items:batch", headers=AUTH, files=[*batch_files(5, broken=True), metadata(lines)])
    assert r.status_code == 202, r.text
    assert r.headers["location"] == f"/jobs/{r.json()['id']}" and r.json()["kind"] == "bulk_add"
    job = wait_for_job(client, r.json()["id"])
    assert job["state"] == "completed", job
    result = job["result"]
    assert result["added"] == 5 and result["rejected"] == 1 and result["rejects"][0]["file"] == "broken.png"
    stats = client.get("/stats").json()
    assert stats["items"] == before["items"] + 5 and stats["swaps"] == before["swaps"] + 1  # one new version
    named = {client.get(f"/items/{i}").json()["key"]: client.get(f"/items/{i}").json() for i in result["ids"]}
    assert named["EM-1"]["name"] == "STELLA" and named["EM-1"]["vienna_codes"] == ["01.01.01"]
    assert named["mark-2.png"]["name"] is None  # an image without a metadata line gets a bare entry
    image = client.get(named["EM-1"]["image_url"])
    assert image.status_code == 200 and image.content == batch_files(1)[0][1][1]
    assert not (root / "jobs" / job["id"]).exists()  # the staging folder went with the job
    assert len(list((root / "uploads").iterdir())) == 5  # the rejected image was not kept
    found = client.post("/search", data={"text": "STELA", "k": "1"}).json()["results"][0]
    assert found["name"] == "STELLA"


def test_bad_batches_are_refused_before_anything_is_queued(writable_client):
    client = writable_client
    root = client.app.state.service.root
    cases = [
        ([*batch_files(2), metadata([{"file": "nope.png"}])], "invalid_metadata"),
        ([*batch_files(2), metadata([{"file": "mark-0.png", "vienna_codes": ["27-05"]}])], "invalid_metadata"),
        ([*batch_files(2), ("metadata", ("m.jsonl", b"{not json", "text/plain"))], "invalid_metadata"),
        ([*batch_files(2), *batch_files(1)], "duplicate_file_name"),
        ([metadata([{"file": "a.png"}])], "no_images"),
    ]
    for files, reason in cases:
        r = client.post("/index/items:batch", headers=AUTH, files=files)
        assert r.status_code == 422 and r.json()["reason"] == reason, (reason, r.text)
    assert client.post("/index/items:batch", files=batch_files(1)).status_code == 401
    assert not list((root / "jobs").glob("*")) if (root / "jobs").exists() else True
    assert client.get("/jobs").json() == [] or all(j["kind"] != "bulk_add" for j in client.get("/jobs").json())


def test_a_batch_run_again_after_its_version_landed_adds_nothing_twice(writable_client):
    """The server died after switching to the batch's version but before recording the job as done."""
    service = writable_client.app.state.service
    files = [(name, __import__("io").BytesIO(data)) for _, (name, data, _) in batch_files(3)]
    staged = service.stage_batch(files, b"")
    kept = staged.folder.with_name("copy")
    shutil.copytree(staged.folder, kept)
    first = service.add_batch(staged.id)
    items = len(service.live.index)
    kept.rename(staged.folder)  # the staging folder is still there after the crash
    again = service.add_batch(staged.id)
    assert again["ids"] == first["ids"] and again["added"] == 3 and len(service.live.index) == items
    assert not staged.folder.exists()
