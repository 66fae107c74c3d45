"""The watch package's rules without a model: opposition deadlines, exception rules, the store's schema versions,
the report written from the store in batches."""

from __future__ import annotations

import sqlite3

import pytest

from logo_similarity.watch.store import WatchStore


def test_opposition_deadline_arithmetic():
    from datetime import date

    from logo_similarity.watch.deadlines import add_months, opposition_deadline

    periods = {"default": 3, "EM": 3, "XX": 2}
    assert opposition_deadline("2026-11-30", "EM", periods) == "2027-02-28"  # no 30 February: its last day
    assert opposition_deadline("2027-11-30", "EM", periods) == "2028-02-29"  # a leap year
    assert opposition_deadline("2026-01-31", "XX", periods) == "2026-03-31"
    assert opposition_deadline("2026-10-15T00:00:00", None, periods) == "2027-01-15"  # default period
    assert opposition_deadline("soon", "EM", periods) is None and opposition_deadline(None, "EM", periods) is None
    assert opposition_deadline("2026-10-15", "ZZ", {"EM": 3}) is None  # no period known for that office
    assert add_months(date(2026, 12, 31), 14) == date(2028, 2, 29)


def test_exception_rules_suppress_pairs_and_say_why():
    from logo_similarity.watch.exceptions import ExceptionRules

    rules = ExceptionRules(own_marks=True, owners=("Licensee GmbH", "L-9"), vienna=("27.05",))
    mark = {"owner": "Acme  Ltd", "owner_id": "A-1"}
    assert "own mark" in rules.suppressed_by(mark, {"owner": "acme ltd"})
    assert "own mark" in rules.suppressed_by(mark, {"owner": "Other", "owner_id": "a-1"})
    assert rules.suppressed_by(mark, {"owner": "licensee gmbh"}) == "excepted applicant: Licensee GmbH"
    assert rules.suppressed_by(mark, {"owner_id": "L-9"}) == "excepted applicant: L-9"
    assert rules.suppressed_by(mark, {"vienna_codes": ["26.01.01", "27.05.09"]}) == "excepted Vienna class 27.05 (27.05.09)"
    assert rules.suppressed_by(mark, {"vienna_codes": ["27.051.01"], "owner": "Rival"}) is None
    assert ExceptionRules(own_marks=False).suppressed_by(mark, {"owner": "Acme Ltd"}) is None
    assert rules.suppressed_by({}, {}) is None and ExceptionRules.from_json(rules.to_json()) == rules


def test_a_watch_store_of_the_first_schema_is_migrated_in_place(tmp_path):
    from logo_similarity.watch.store import SCHEMA, SCHEMA_VERSION

    first = "\n".join(line for line in SCHEMA.splitlines()  # version 1: neither column had come yet
                       if not line.lstrip().startswith(("uploads ", "min_conflict ")))
    with sqlite3.connect(tmp_path / "watch.sqlite") as db:
        db.executescript(first)
        db.execute("INSERT INTO watches (name, client, created, min_score, marks, marks_digest) "
                   "VALUES ('old', 'c', 0, 0.3, 1, 'd')")
    store = WatchStore(tmp_path)
    old = store.get("old", "c")
    assert [w.name for w in store.watches(None)] == ["old"] and old.uploads is None and old.min_conflict is None
    with sqlite3.connect(tmp_path / "watch.sqlite") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(RuntimeError, match="newer version"):
        WatchStore(tmp_path)


def test_a_stored_report_streams_the_alerts_in_the_same_order_as_a_listed_one(tmp_path):
    """The report reads a run's alerts from SQLite in batches, ordered by the one report rule (tier, deadline,
    conflict, score), and writes each file whole or not at all."""
    import json
    import random

    from logo_similarity.reporting.watch_report import ListedAlerts, write_report
    from logo_similarity.utils.fs import atomic_text_writer
    from logo_similarity.watch.reports import StoredAlerts
    from logo_similarity.watch.store import Alert

    store = WatchStore(tmp_path / "store")
    watch = store.create("big", "c", 0.0, 40, "d")
    run = store.start_run(watch, "test", 120)
    rng = random.Random(3)
    alerts = []
    for i in range(1200):
        tier = rng.choice(["high", "medium", "low", None])
        deadline = rng.choice([None, "2027-01-15", "2027-02-01", "2026-12-24"])
        body = {"tier": tier, "conflict_score": None if tier is None else round(rng.random(), 3),
                "mark": {"key": f"m{i % 40}"}, "filing": {"key": f"f{i}", "opposition_deadline": deadline},
                "components": {"image": 0.5}}
        alerts.append(Alert(mark_id=i % 40, filing=f"f{i}", score=round(rng.random(), 4), body=body))
    store.record_chunk(run, watch, [f"f{i}" for i in range(1200)], alerts, [])
    streamed = StoredAlerts(store, watch, ("new",), run)
    listed = ListedAlerts(store.alerts(watch, ("new",), run))
    assert [a["id"] for a in streamed] == [a["id"] for a in listed] and streamed.tiers == listed.tiers
    assert len(streamed.ids) == 1200 and len(list(streamed)) == 1200  # a source can be read again

    written = write_report(tmp_path / "out", "big", streamed, [], {"run": run})
    report = json.loads(written["json"].read_text())
    assert [a["id"] for a in report["alerts"]] == streamed.ids and report["provenance"] == {"run": run}
    assert written["csv"].read_text().count("\n") == 1200 + 2  # provenance line, header, one row per alert
    page = written["html"].read_text()
    assert page.count("<tr class=") == sum(t in ("high", "medium", None) for t in streamed.tiers)

    with pytest.raises(RuntimeError), atomic_text_writer(tmp_path / "out" / "report.csv") as fh:
        fh.write("half a report")
        raise RuntimeError("interrupted")
    assert written["csv"].read_text().count("\n") == 1202  # the complete file stays; no temporary file is left
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["report.csv", "report.html", "report.json"]
