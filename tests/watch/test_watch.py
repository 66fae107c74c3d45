"""Watch lists against new filings, on rendered marks with planted conflicts (real embedder, OCR, FAISS)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from logo_similarity.datasets import LogoRecord
from logo_similarity.watch.filings import read_filings
from logo_similarity.watch.marks import read_watch_marks
from logo_similarity.watch.run import create_watch, run_watch
from logo_similarity.watch.store import WatchNotFound, WatchStore
from tests.conftest import COLOURS, draw_logo
from tests.watch.planted import CLI, PLANTED, write_filings, write_marks



@pytest.fixture(scope="module")
def watched(tmp_path_factory, default_embedder, settings):
    root = tmp_path_factory.mktemp("watch")
    settings = settings.model_copy(update={"watch": settings.watch.model_copy(update={"root": str(root / "store"),
                                                                                      "chunk": 2})})
    store = WatchStore(root / "store")
    watch = create_watch(store, "brand", "client-a", read_watch_marks(write_marks(root / "marks")), default_embedder,
                         settings)
    filings_file = write_filings(root / "filings")
    filings, unreadable = read_filings(filings_file, settings)
    first = run_watch(store, watch, filings, default_embedder, settings, source=str(filings_file))
    return store, watch, settings, filings, filings_file, first


def test_planted_conflicts_are_the_top_alerts(watched):
    store, watch, _, filings, _, first = watched
    alerts = store.alerts(watch)
    pairs = [(a["mark"]["key"], a["filing"]["key"]) for a in alerts]
    assert set(pairs[:3]) == {(mark, filing) for filing, mark in PLANTED.items()}, pairs
    unplanted = alerts[3:]  # the pairs of at least the list's min_conflict (watch.min_conflict by default)
    assert watch.min_conflict > 0 and all(b["conflict_score"] >= watch.min_conflict for b in alerts)
    for a in alerts[:3]:
        assert a["rank_for_filing"] == 1 and a["state"] == "new"
        # a calibrated conflict score (of the raw embedding space: a list this small has no PCA of its own),
        # above every unplanted pair's
        assert not unplanted or a["conflict_score"] > max(b["conflict_score"] for b in unplanted)
        assert a["filing"]["published"] == "2026-11-02" and a["mark"]["owner"] == "Owner Ltd"
        assert a["filing"]["opposition_deadline"] == "2027-02-02"  # 3 months (the default office period)
        assert a["nice_shared"] == [9]
    assert alerts[0]["tier"] in ("high", "medium") and alerts[0]["filing"]["key"] == "same-device"
    sound = next(a for a in alerts if a["filing"]["key"] == "sound-alike")
    assert sound["components"]["text"] > 0.8 and sound["explanation"]["text_source"]["candidate_text"] == "Kodak"
    same_device = next(a for a in alerts if a["filing"]["key"] == "same-device")
    assert same_device["explanation"]["elements"]["query"]["kind"] == "composite"
    assert first.compared == len(filings) - 1 and first.alerts_new == len(alerts)
    assert [s["filing"] for s in first.skipped] == ["broken"]  # listed with its reason; the run completed
    run = store.run(first.run_id, None)
    assert run["state"] == "done" and run["skipped_filings"][0]["reason"]


def test_a_second_run_over_the_same_filings_adds_nothing(watched, default_embedder):
    store, watch, settings, filings, _, _ = watched
    before = store.alerts(watch)
    again = run_watch(store, watch, filings, default_embedder, settings)
    assert again.compared == 0 and again.alerts_new == 0 and again.already == len(filings) - 1
    assert [s["filing"] for s in again.skipped] == ["broken"]  # unreadable filings are tried again, not remembered
    assert store.alerts(watch) == before


def test_another_client_gets_nothing(watched):
    store, watch, *_ = watched
    with pytest.raises(WatchNotFound):
        store.get(watch.id, "client-b")
    with pytest.raises(WatchNotFound):
        store.get("brand", "client-b")
    assert store.watches("client-b") == [] and [w.id for w in store.watches(None)] == [watch.id]
    assert store.get("brand", "client-a") == watch
    with pytest.raises(WatchNotFound):
        store.run(1, "client-b")


def test_killed_run_resumes_to_the_same_alerts(watched):
    """kill -9 of `logo-sim watch run` part-way (after its first chunks are recorded), then the same command again:
    the alerts an uninterrupted run made, none twice."""
    store, watch, settings, _, filings_file, _ = watched
    reference = {(a["mark_id"], a["filing_key"]): a["score"] for a in store.alerts(watch)}
    root = settings.watch.root
    env = {**os.environ, "LOGO_SIM__MODEL__CACHE_DIR": settings.model.cache_dir, "LOGO_SIM__LOG_LEVEL": "WARNING",
           "LOGO_SIM__WATCH__CHUNK": "1", "LOGO_SIM__INDEX__DIR": str(Path(root) / "no-register")}  # as "brand": raw
    subprocess.run([*CLI, "watch", "create", "again", "--marks", str(filings_file.parent.parent / "marks" / "marks.csv"),
                    "--client", "client-a", "--root", root], env=env, check=True, capture_output=True, timeout=300)
    again = store.get("again", "client-a")
    args = [*CLI, "watch", "run", "again", "--filings", str(filings_file), "--client", "client-a", "--root", root]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        with sqlite3.connect(store.path) as db:
            done = db.execute("SELECT COALESCE(MAX(compared), 0) FROM runs WHERE watch_id = ?", (again.id,)).fetchone()[0]
        if done >= 2:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed part-way"
    finished = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr[-2000:]
    runs = store.runs(again)
    assert [r["state"] for r in runs] == ["interrupted", "done"] and runs[1]["already"] >= 2
    resumed = {(a["mark_id"], a["filing_key"]): a["score"] for a in store.alerts(again)}
    assert resumed.keys() == reference.keys()
    assert all(abs(resumed[key] - reference[key]) < 1e-5 for key in reference)


def test_triage_is_kept_across_runs_and_a_dismissed_pair_returns_only_when_it_rises(tmp_path):
    from logo_similarity.watch.store import Alert

    store = WatchStore(tmp_path, reopen_margin=0.1)
    watch = store.create("w", "c", 0.3, 2, "digest")
    run = store.start_run(watch, "s", 2)
    assert store.record_chunk(run, watch, ["f1", "f2"], [Alert(1, "f1", 0.5, {}), Alert(2, "f2", 0.6, {})], []) == 2
    by_filing = {a["filing_key"]: a["id"] for a in store.alerts(watch)}
    store.set_state(watch, by_filing["f1"], "dismissed")
    store.set_state(watch, by_filing["f2"], "reviewing")
    run = store.start_run(watch, "s", 2)  # the same pairs found again, f1 a little higher
    assert store.record_chunk(run, watch, ["f1", "f2"], [Alert(1, "f1", 0.55, {}), Alert(2, "f2", 0.6, {})], []) == 0
    assert {a["filing_key"]: a["state"] for a in store.alerts(watch)} == {"f1": "dismissed", "f2": "reviewing"}
    run = store.start_run(watch, "s", 1)  # f1 now clearly more alike than when it was dismissed
    store.record_chunk(run, watch, ["f1"], [Alert(1, "f1", 0.65, {})], [])
    assert {a["filing_key"]: a["state"] for a in store.alerts(watch)} == {"f1": "new", "f2": "reviewing"}
    with pytest.raises(ValueError, match="state must be one of"):
        store.set_state(watch, by_filing["f1"], "maybe")
    with pytest.raises(WatchNotFound):
        store.set_state(watch, 999, "opposed")


def test_a_watch_list_csv_names_its_bad_rows(tmp_path):
    from logo_similarity.datasets import DatasetError

    (tmp_path / "a.csv").write_text("image,name,nice_classes\nm.png,Acme,9;99\n")
    with pytest.raises(DatasetError, match=r"a.csv:2: Nice classes are numbers 1-45, got '99'"):
        read_watch_marks(tmp_path / "a.csv")
    (tmp_path / "b.csv").write_text("picture,name\nm.png,Acme\n")
    with pytest.raises(DatasetError, match="'image' column"):
        read_watch_marks(tmp_path / "b.csv")
    (tmp_path / "c.csv").write_text("image,name,nice_classes,vienna_codes,owner\nm.png, Acme ,9 42,26.01.01;27.05.01,X\n")
    [mark] = read_watch_marks(tmp_path / "c.csv")
    assert mark == LogoRecord("m.png", tmp_path / "m.png", "Acme", ("26.01.01", "27.05.01"))
    assert mark.extra == {"nice_classes": [9, 42], "owner": "X"}


def test_filings_from_st66_xml_are_keyed_by_application_and_bad_records_listed(tmp_path, settings):
    """ST.66 filings go through the dataset builder (kept under the watch root): each filing keyed by its
    application number and image, with its publication date; a record without an image and a cut-off file are
    listed as unreadable with their reasons, the rest are filings, two applications with one image included."""
    from tests.datasets.test_st66 import trademark, transaction

    src = tmp_path / "register"
    src.mkdir()
    draw_logo("ring", COLOURS[0], side=80).save(src / "a.png")
    published = "<PublicationDetails><Publication><PublicationDate>2026-10-01</PublicationDate></Publication>" \
                "</PublicationDetails></TradeMark>"
    (src / "1.xml").write_text(transaction([trademark("018001", "ACME", images=[("a.png", ["27.05.01"])])
                                            .replace("</TradeMark>", published),
                                            trademark("018002", "WORDY", images=[]),
                                            trademark("018004", "ACME TOO", images=[("a.png", ["27.05.01"])])]))
    (src / "2.xml").write_text(transaction([trademark("018003")])[:120])
    settings = settings.model_copy(update={"watch": settings.watch.model_copy(update={"root": str(tmp_path / "w")})})
    filings, unreadable = read_filings(src, settings)
    # another application with the same image is a filing of its own (one picture stored, compared once)
    assert [(f.key, f.text, f.extra["published"]) for f in filings] == [("018001/0", "ACME", "2026-10-01"),
                                                                        ("018004/0", "ACME TOO", None)]
    assert filings[0].path == filings[1].path
    assert sorted(u["reason"] for u in unreadable) == ["malformed_xml", "no_image"]
    again, _ = read_filings(src, settings)  # the second run reads what the builder made (it resumes)
    assert [f.key for f in again] == ["018001/0", "018004/0"]


def test_a_run_keeps_suppressed_pairs_apart_with_the_rule(watched, default_embedder, tmp_path):
    """The watched mark's own applicant files a near-copy: suppressed (kept, with the rule), not an alert."""
    from logo_similarity.watch.exceptions import ExceptionRules

    store, _, settings, filings, _, _ = watched
    marks = read_watch_marks(next(Path(settings.watch.root).parent.glob("marks")) / "marks.csv")
    watch = create_watch(store, "rules", "client-a", marks, default_embedder, settings,
                         rules=ExceptionRules(owners=("Rival Co",)))
    own = [LogoRecord(f.key, f.path, f.text, f.vienna_codes, f.year,
                      {**f.extra, "owner": "Owner Ltd" if f.key == "near-copy" else "Rival Co" if f.key == "sound-alike"
                       else None}) for f in filings]
    report = run_watch(store, watch, own, default_embedder, settings)
    shown = {(a["mark"]["key"], a["filing_key"]) for a in store.alerts(watch)}
    assert ("mark-1", "same-device") in shown
    assert not any(filing in ("near-copy", "sound-alike") for _, filing in shown)
    hidden = {a["filing_key"]: a["suppressed_by"] for a in store.alerts(watch, ("suppressed",))}
    assert "own mark" in hidden["near-copy"] and hidden["sound-alike"] == "excepted applicant: Rival Co"
    assert store.run(report.run_id, None)["suppressed"] >= 2
    with pytest.raises(WatchNotFound):  # a suppressed pair is not triaged
        store.set_state(watch, next(a["id"] for a in store.alerts(watch, ("suppressed",))), "opposed")


def test_the_report_orders_by_tier_then_deadline_and_carries_its_provenance(watched, tmp_path):
    """`logo-sim watch report`: HTML (both marks side by side, tier, deadline), CSV and JSON with provenance; the
    alerts by tier, then opposition deadline, then conflict score."""
    import csv

    from logo_similarity.reporting.watch_report import TIER_ORDER

    store, watch, settings, _, _, _ = watched
    env = {**os.environ, "LOGO_SIM__MODEL__CACHE_DIR": settings.model.cache_dir, "LOGO_SIM__LOG_LEVEL": "WARNING"}
    out = tmp_path / "report"
    done = subprocess.run([*CLI, "watch", "report", "brand", "--client", "client-a", "--root", settings.watch.root,
                           "--out", str(out)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((out / "report.json").read_text())
    alerts, facts = report["alerts"], report["provenance"]
    assert len(alerts) == len(store.alerts(watch))
    keys = [(TIER_ORDER[a["tier"]], a["filing"]["opposition_deadline"] is None, a["filing"]["opposition_deadline"] or "",
             -a["conflict_score"]) for a in alerts]
    assert keys == sorted(keys)
    assert facts["marks_digest"] == watch.marks_digest and facts["run"]["state"] == "done"
    assert len(facts["settings_digest"]) == 16 and facts["model"] and facts["generated"].endswith("Z")
    rows = list(csv.reader((out / "report.csv").read_text().splitlines()[1:]))
    assert rows[0][:3] == ["alert_id", "state", "tier"] and len(rows) == len(alerts) + 1
    assert [r[0] for r in rows[1:]] == [str(a["id"]) for a in alerts]
    page = (out / "report.html").read_text()
    upper = [a for a in alerts if a["tier"] in ("high", "medium")]  # the printable page; every alert in CSV/JSON
    assert 1 <= page.count("<tr class=") == len(upper) and "<svg class='match'" in page
    assert "oppose by 2027-02-02" in page and (len(upper) == len(alerts) or "in report.csv and report.json" in page)
    bad = subprocess.run([*CLI, "watch", "report", "brand", "--client", "client-b", "--root", settings.watch.root,
                          "--out", str(tmp_path / "x")], env=env, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "no watch list" in bad.stderr and "Traceback" not in bad.stderr


def test_a_run_over_what_an_index_gained_since_a_version(watched, default_embedder, tmp_path):
    """Filings = the marks an index gained since a version (ids are never reused); the next run with no version
    starts where the last one ended: nothing new, nothing compared."""
    from logo_similarity.indexing import build_with_settings
    from logo_similarity.indexing.update import add_items
    from logo_similarity.retrieval.store.versions import live_version
    from logo_similarity.watch.filings import VersionNotFound, items_since
    from logo_similarity.watch.run import index_source, last_index_version

    store, watch, settings, filings, _, _ = watched
    readable = [f for f in filings if f.key != "broken"]
    register = tmp_path / "register"
    index, _ = build_with_settings(readable[3:], default_embedder, settings, factory="Flat")
    index.save(register)
    before = live_version(register).name
    add_items(register, readable[:3], default_embedder, settings.image)
    new, live = items_since(register, before)
    assert sorted(r.key for r in new) == sorted(f.key for f in readable[:3]) and live != before
    assert len(items_since(register, None)[0]) == len(readable)
    with pytest.raises(VersionNotFound):
        items_since(register, "19990101T000000-000000000")
    report = run_watch(store, watch, new, default_embedder, settings, source=index_source(register, before, live))
    assert report.compared == 0 and report.already == 3  # the same filings were compared by the first run
    assert last_index_version(store, watch, register) == live
    assert items_since(register, last_index_version(store, watch, register))[0] == []
