"""Watch lists through the API (real app, embedder, OCR, FAISS, job queue): a client's lists, runs, jobs and alerts
are its own; every endpoint answers another client with 404; a run found by upload or by index version is a job
whose alerts carry calibrated conflict scores and keep their triage."""

from __future__ import annotations

import io
import json
import time

import pytest
from fastapi.testclient import TestClient

from logo_similarity.api import create_app
from logo_similarity.api.keys import KeyStore
from logo_similarity.datasets.transforms import modified_copy
from tests.api.conftest import KEY
from tests.conftest import COLOURS, KINDS, draw_logo


def png(image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def watch_api(api_settings, built_index, tmp_path_factory):
    """An app whose reads need a key, three client keys (two may watch, one only search), a watch store of its own,
    over a copy of the index (its runs are jobs, kept in jobs.sqlite beside the index: not in the shared one)."""
    from logo_similarity.api.service import SearchService
    from tests.api.conftest import copy_index

    root = tmp_path_factory.mktemp("watch-api")
    service = SearchService(api_settings, copy_index(built_index, root / "index"))
    service.load()
    api = api_settings.api.model_copy(update={"read_requires_key": True, "keys_file": str(root / "keys.sqlite")})
    watch = api_settings.watch.model_copy(update={"root": str(root / "watches"), "chunk": 2})
    settings = api_settings.model_copy(update={"api": api, "watch": watch})
    keys = KeyStore(root / "keys.sqlite")
    ids = {"a": keys.create("client-a", "watch"), "b": keys.create("client-b", "watch"),
           "reader": keys.create("reader", "search")}
    with TestClient(create_app(settings, service=service)) as client:
        yield client, ids, root, service


def as_(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


def wait_job(client, key, job_id, timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/jobs/{job_id}", headers=as_(key)).json()
        if job["state"] in ("completed", "failed", "cancelled"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish")


@pytest.fixture(scope="module")
def a_watch(watch_api):
    """Client A's list of three uploaded marks (one named) and a run over a near-copy of mark 0 and an unrelated
    filing: the job, and the alerts it made."""
    client, keys, _, _ = watch_api
    marks = [("m0.png", png(draw_logo(KINDS[0], COLOURS[0]))), ("m1.png", png(draw_logo(KINDS[1], COLOURS[1]))),
             ("m2.png", png(draw_logo(KINDS[2], COLOURS[2])))]
    metadata = json.dumps({"file": "m0.png", "id": "mark-0", "text": "Kastrino", "nice_classes": [9]})
    # min_conflict 0: every filing's most alike marks are alerts, the unrelated filing's too (pages to turn)
    r = client.post("/watches", headers=as_(keys["a"]), data={"name": "brand", "exclude_vienna": "27.05",
                                                              "min_conflict": "0"},
                    files=[("images", (n, d, "image/png")) for n, d in marks] + [("metadata", ("m.jsonl", metadata))])
    assert r.status_code == 201, r.text
    watch = r.json()
    assert watch["marks"] == 3 and watch["client"] == "client-a" and watch["exceptions"]["vienna"] == ["27.05"]
    assert watch["min_conflict"] == 0
    filings = [("near.png", png(modified_copy(draw_logo(KINDS[0], COLOURS[0]), seed=1)[0])),
               ("other.png", png(draw_logo(KINDS[9], COLOURS[4])))]
    meta = json.dumps({"file": "near.png", "id": "2026/0001", "published": "2026-11-02", "office": "EM"})
    r = client.post(f"/watches/{watch['id']}/runs", headers=as_(keys["a"]),
                    files=[("images", (n, d, "image/png")) for n, d in filings] + [("metadata", ("f.jsonl", meta))])
    assert r.status_code == 202, r.text
    job = wait_job(client, keys["a"], r.json()["id"])
    assert job["state"] == "completed", job
    alerts = client.get(f"/watches/{watch['id']}/alerts", headers=as_(keys["a"])).json()
    return watch, job, alerts


def test_a_run_is_a_job_whose_top_alert_is_the_planted_conflict_with_a_calibrated_score(watch_api, a_watch):
    client, keys, _, _ = watch_api
    watch, job, alerts = a_watch
    assert job["result"]["compared"] == 2 and job["result"]["state"] == "done"
    top = alerts[0]
    assert (top["mark"]["key"], top["filing_key"]) == ("mark-0", "2026/0001")
    assert top["filing"]["opposition_deadline"] == "2027-02-02"
    assert 0 <= top["conflict_score"] <= 1 and top["tier"] in ("high", "medium", "low")
    assert top["conflict_score"] == max(a["conflict_score"] for a in alerts)
    runs = client.get(f"/watches/{watch['id']}/runs", headers=as_(keys["a"])).json()
    assert [r["state"] for r in runs] == ["done"]
    one = client.get(f"/watches/{watch['id']}/runs/{runs[0]['id']}", headers=as_(keys["a"])).json()
    assert one["skipped_filings"] == [] and one["compared"] == 2


def test_alerts_come_a_page_at_a_time_with_their_total(watch_api, a_watch):
    client, keys, _, _ = watch_api
    watch, _, alerts = a_watch
    url = f"/watches/{watch['id']}/alerts"
    assert len(alerts) >= 2
    first = client.get(url, headers=as_(keys["a"]), params={"limit": 1})
    assert [a["id"] for a in first.json()] == [alerts[0]["id"]]
    assert first.headers["X-Total-Count"] == str(len(alerts))
    second = client.get(url, headers=as_(keys["a"]), params={"limit": 1, "offset": 1}).json()
    assert [a["id"] for a in second] == [alerts[1]["id"]]
    assert client.get(url, headers=as_(keys["a"]), params={"offset": len(alerts)}).json() == []
    assert client.get(url, headers=as_(keys["a"]), params={"limit": 0}).status_code == 422


def test_triage_through_the_api_is_kept_and_checked(watch_api, a_watch):
    client, keys, _, _ = watch_api
    watch, _, alerts = a_watch
    url = f"/watches/{watch['id']}/alerts/{alerts[0]['id']}"
    r = client.patch(url, headers=as_(keys["a"]), json={"state": "opposed"})
    assert r.status_code == 200 and r.json()["state"] == "opposed"
    assert client.get(f"/watches/{watch['id']}/alerts", headers=as_(keys["a"]),
                      params={"state": "opposed"}).json()[0]["id"] == alerts[0]["id"]
    bad = client.patch(url, headers=as_(keys["a"]), json={"state": "maybe"})
    assert bad.status_code == 422
    assert client.get(f"/watches/{watch['id']}/alerts", headers=as_(keys["a"]),
                      params={"state": "maybe"}).json()["reason"] == "invalid_state"


def test_the_report_is_sent_in_each_format_and_its_file_removed_after(watch_api, a_watch):
    client, keys, root, _ = watch_api
    watch, job, alerts = a_watch
    url = f"/watches/{watch['id']}/report"
    html = client.get(url, headers=as_(keys["a"]))
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    shown = [a for a in alerts if a["tier"] in ("high", "medium")]  # the printable page lists these; all: csv, json
    assert "Watch report: brand" in html.text and f"{len(alerts) - len(shown)} alerts of lower tiers" in html.text
    assert all(a["filing_key"] in html.text for a in shown)
    csv = client.get(url, headers=as_(keys["a"]), params={"format": "csv"})
    lines = csv.text.strip().splitlines()  # provenance, header, one row per alert
    assert csv.headers["content-type"].startswith("text/csv") and lines[0].startswith("# {") and len(lines) == len(alerts) + 2
    body = client.get(url, headers=as_(keys["a"]), params={"format": "json", "run": job["result"]["run_id"]}).json()
    assert {a["id"] for a in body["alerts"]} == {a["id"] for a in alerts} and body["provenance"]["model"]
    assert list((root / "watches" / "reports").iterdir()) == []  # each report's folder went once it was sent
    r = client.get(url, headers=as_(keys["a"]), params={"run": 10**9})
    assert r.status_code == 404 and r.json()["reason"] == "unknown_run"


def test_every_watch_endpoint_answers_another_client_404(watch_api, a_watch):
    client, keys, _, _ = watch_api
    watch, job, alerts = a_watch
    w, run_id, alert_id = watch["id"], job["result"]["run_id"], alerts[0]["id"]
    other = as_(keys["b"])
    calls = [("get", f"/watches/{w}", {}), ("delete", f"/watches/{w}", {}),
             ("post", f"/watches/{w}/runs", {"data": {"since": ""}}), ("get", f"/watches/{w}/runs", {}),
             ("get", f"/watches/{w}/runs/{run_id}", {}), ("get", f"/watches/{w}/alerts", {}),
             ("patch", f"/watches/{w}/alerts/{alert_id}", {"json": {"state": "dismissed"}}),
             ("delete", f"/watches/{w}/jobs/{job['id']}", {}), ("get", f"/jobs/{job['id']}", {}),
             ("get", f"/watches/{w}/report", {}), ("get", f"/watches/{w}/report?format=json&run={run_id}", {})]
    for method, url, extra in calls:
        r = getattr(client, method)(url, headers=other, **extra)
        assert r.status_code == 404, (method, url, r.status_code, r.text)
        assert "Kastrino" not in r.text and "mark-0" not in r.text
    assert client.get("/watches", headers=other).json() == []
    assert job["id"] not in [j["id"] for j in client.get("/jobs", headers=other).json()]
    # the list is untouched by B's attempts; the admin sees it and the job; a search-only key may not watch
    assert client.get(f"/watches/{w}", headers=as_(keys["a"])).status_code == 200
    assert [x["id"] for x in client.get("/watches", headers=as_(KEY)).json()] == [w]
    assert client.get(f"/jobs/{job['id']}", headers=as_(KEY)).status_code == 200
    r = client.get("/watches", headers=as_(keys["reader"]))
    assert r.status_code == 403 and r.json()["reason"] == "forbidden"
    assert client.get("/watches").json()["reason"] == "missing_api_key"


def test_runs_over_what_the_index_gained_and_bad_requests(watch_api, a_watch):
    client, keys, _, service = watch_api
    watch, _, _ = a_watch
    url = f"/watches/{watch['id']}/runs"
    r = client.post(url, headers=as_(keys["a"]), data={"since": service.live.version})
    assert r.status_code == 202, r.text
    done = wait_job(client, keys["a"], r.json()["id"])
    assert done["state"] == "completed" and done["result"]["filings"] == 0  # nothing added since the live version
    r = client.post(url, headers=as_(keys["a"]), data={"since": "20000101T000000-000000000"})
    assert r.status_code == 404 and r.json()["reason"] == "unknown_version"
    assert client.post(url, headers=as_(keys["a"]), data={"metadata": ""}).json()["reason"] == "no_filings"
    r = client.post("/watches", headers=as_(keys["a"]), data={"name": "brand", "ids": "1,2"})
    assert r.status_code == 409 and r.json()["reason"] == "watch_exists"
    r = client.post("/watches", headers=as_(keys["a"]), data={"name": "bad", "ids": "99999"})
    assert r.status_code == 404 and r.json()["reason"] == "unknown_item"
    r = client.post("/watches", headers=as_(keys["a"]), data={"name": "bad"},
                    files=[("images", ("x.png", b"\x89PNG not really", "image/png"))])
    assert r.status_code == 422 and r.json()["reason"] == "unreadable_marks" and "x.png" in r.json()["detail"]
    assert client.post("/watches", headers=as_(keys["a"]), data={"name": ""}).json()["reason"] == "invalid_name"


def test_a_list_of_indexed_marks_is_deleted_with_what_the_api_made_for_it(watch_api):
    client, keys, root, _ = watch_api
    r = client.post("/watches", headers=as_(keys["b"]), data={"name": "from-index", "ids": "0,1"})
    assert r.status_code == 201, r.text
    w = r.json()["id"]
    assert (root / "watches" / f"watch-{w}").is_dir()
    assert client.delete(f"/watches/{w}", headers=as_(keys["b"])).status_code == 200
    assert not (root / "watches" / f"watch-{w}").exists()
    assert client.get(f"/watches/{w}", headers=as_(keys["b"])).status_code == 404


def test_a_run_the_server_stopped_is_run_again_by_the_next_server(api_settings, built_index, tmp_path):
    """A watch run recorded as running when the server died (its filings still staged) runs again at the next
    start, as the same job, and compares its filings once."""
    from logo_similarity.api.batch import stage_batch
    from logo_similarity.api.job_store import JobStore
    from logo_similarity.api.service import SearchService
    from tests.api.conftest import copy_index

    root = copy_index(built_index, tmp_path / "index")
    watch_settings = api_settings.watch.model_copy(update={"root": str(tmp_path / "watches")})
    settings = api_settings.model_copy(update={"watch": watch_settings})
    service = SearchService(settings, root)
    service.load()
    with TestClient(create_app(settings, service=service)) as client:
        made = client.post("/watches", headers=as_(KEY), data={"name": "kept", "ids": "0,1,2"})
        assert made.status_code == 201, made.text
    filings = [("f0.png", io.BytesIO(png(draw_logo(KINDS[0], COLOURS[0])))),
               ("f1.png", io.BytesIO(png(draw_logo(KINDS[5], COLOURS[3]))))]
    staged = stage_batch(tmp_path / "watches" / "staged", filings, b"")
    JobStore(root / "jobs.sqlite").save({
        "id": staged.id, "kind": "watch_run", "state": "running", "progress": 0.5, "done": 1, "total": 2,
        "error": None, "result": None, "created": time.time(), "started": time.time(), "finished": None,
        "attempts": 1, "params": {"watch_id": made.json()["id"], "client": "admin", "staged": staged.id}})
    restarted = SearchService(settings, root)
    with TestClient(create_app(settings, service=restarted)) as client:
        job = wait_job(client, KEY, staged.id)
        assert job["state"] == "completed" and job["attempts"] == 2, job
        assert job["result"]["compared"] == 2 and job["result"]["state"] == "done"
    assert not staged.folder.exists()  # the staged filings go once their run has ended
