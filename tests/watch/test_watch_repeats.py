"""A run reads and embeds an image that several filings share once (real embedder, OCR, FAISS): the same mark filed
again (other goods, another applicant, another office) is compared in its own right, at the cost of a search."""

from __future__ import annotations

import shutil
from pathlib import Path

from logo_similarity.datasets import LogoRecord
from logo_similarity.watch.filings import read_filings, repeats_together
from logo_similarity.watch.marks import read_watch_marks
from logo_similarity.watch.run import create_watch, run_watch
from logo_similarity.watch.store import WatchStore
from tests.watch.planted import PLANTED, write_filings, write_marks


def test_repeats_together_puts_same_bytes_side_by_side_at_the_first_ones_place(tmp_path):
    for name, body in [("a", b"one"), ("b", b"two"), ("a2", b"one"), ("c", b"three"), ("b2", b"two")]:
        (tmp_path / name).write_bytes(body)
    records = [LogoRecord(name, tmp_path / name) for name in ("a", "b", "a2", "c", "b2")]
    records.insert(2, LogoRecord("gone", tmp_path / "missing.png"))  # unreadable: a group of its own, kept
    assert [r.key for r in repeats_together(records)] == ["a", "a2", "b", "b2", "gone", "c"]


def test_a_repeated_image_is_read_once_and_each_filing_gets_its_own_alerts(default_embedder, settings, tmp_path):
    store = WatchStore(tmp_path / "store")
    watch = create_watch(store, "repeats", "client-a", read_watch_marks(write_marks(tmp_path / "marks")),
                         default_embedder, settings)
    folder = tmp_path / "filings"
    filings, _ = read_filings(write_filings(folder), settings)
    by_key = {f.key: f for f in filings}
    copies = []  # the near-copy filed twice more (the same goods, published a week later), after every other filing
    for n in (1, 2):
        path = Path(shutil.copyfile(by_key["near-copy"].path, folder / f"again-{n}.png"))
        copies.append(LogoRecord(f"near-copy-again-{n}", path, None, (), None,
                                 {**by_key["near-copy"].extra, "published": "2026-11-09"}))
    report = run_watch(store, watch, filings + copies, default_embedder, settings)
    assert report.images_reused == 2
    assert report.compared == len(filings) + 2 - 1  # the broken image is skipped

    alerts = store.alerts(watch)

    def of(filing: str) -> list[tuple[str, float, str]]:
        return sorted((a["mark"]["key"], round(a["score"], 6), a["tier"]) for a in alerts if a["filing_key"] == filing)

    original = of("near-copy")
    assert original and original[0][0] == PLANTED["near-copy"]
    assert of("near-copy-again-1") == of("near-copy-again-2") == original
    # each repeat is an application of its own: its own publication, so its own opposition deadline
    deadlines = {a["filing_key"]: a["filing"]["opposition_deadline"] for a in alerts}
    assert deadlines["near-copy-again-1"] == "2027-02-09" != deadlines["near-copy"]
