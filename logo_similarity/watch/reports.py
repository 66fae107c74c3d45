"""A watch list's report with its provenance: which model compared the marks, which marks (their digest), with
which settings (a digest of the sections that decide alerts), in which run, and when it was made. Rendered by
``reporting/watch_report.py`` (HTML, CSV, JSON)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from logo_similarity import __version__
from logo_similarity.config import Settings
from logo_similarity.reporting.watch_report import FORMATS, report_key, write_report
from logo_similarity.reranking.calibration import calibration_of
from logo_similarity.retrieval.store.versions import live_version
from logo_similarity.watch.run import marks_folder
from logo_similarity.watch.store import STATES, Watch, WatchNotFound, WatchStore


def settings_digest(settings: Settings) -> str:
    """What decides a pair's scores and alerts: the image, model, text, elements, search, re-ranking, calibration
    and watch settings (not where files live)."""
    decisive = settings.model_dump(mode="json", include={"image", "model", "text", "elements", "search", "rerank",
                                                         "calibration", "watch"})
    decisive["watch"].pop("root", None)
    decisive["model"].pop("cache_dir", None)
    return hashlib.sha256(json.dumps(decisive, sort_keys=True).encode()).hexdigest()[:16]


def provenance(store: WatchStore, watch: Watch, settings: Settings, run: dict[str, Any] | None) -> dict[str, Any]:
    manifest_file = live_version(marks_folder(store, watch)) / "manifest.json"
    manifest = json.loads(manifest_file.read_text()) if manifest_file.is_file() else {}
    calibration = calibration_of(settings.calibration, (live_version(marks_folder(store, watch)) / "pca.npz").is_file())
    return {
        "watch_list": watch.name, "watch_id": watch.id, "client": watch.client, "marks": watch.marks,
        "marks_digest": watch.marks_digest, "min_score": watch.min_score, "min_conflict": watch.min_conflict,
        "model": "{arch} ({weights})".format(**{"arch": "?", "weights": "?", **(manifest.get("spec") or {})}),
        "model_fingerprint": manifest.get("spec_fingerprint"),
        "settings_digest": settings_digest(settings),
        "calibration": {k: calibration.provenance.get(k) for k in ("space", "fitted_by", "pairs", "per_task")},
        "tiers": {"medium": settings.calibration.medium, "high": settings.calibration.high},
        "run": None if run is None else {k: run.get(k) for k in ("id", "state", "source", "started", "finished",
                                                                 "filings", "compared", "alerts_new")},
        "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "logo_similarity": __version__,
    }


class StoredAlerts:
    """A list's alerts in report order, read from the store a batch at a time (only their ids and tiers are
    held), so a report of a 200,000-alert run is written in flat memory."""

    def __init__(self, store: WatchStore, watch: Watch, states: tuple[str, ...], run_id: int | None) -> None:
        keys = sorted(store.alert_keys(watch, states, run_id),
                      key=lambda k: report_key(k[1], k[2], k[3], k[4], k[0]))
        self.store, self.watch = store, watch
        self.ids = [k[0] for k in keys]
        self.tiers = [k[1] for k in keys]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self.store.alerts_by_id(self.watch, self.ids)


def watch_report(store: WatchStore, watch: Watch, settings: Settings, out_dir: Path, run_id: int | None = None,
                 states: tuple[str, ...] = STATES, formats: tuple[str, ...] = FORMATS) -> dict[str, Path]:
    """The list's alerts in ``states`` (of run ``run_id`` only: those it found, new or again), with those an
    exception rule suppressed listed apart; written to ``out_dir``."""
    run = None
    if run_id is not None:
        run = store.run(run_id, None)
        if run["watch_id"] != watch.id:
            raise WatchNotFound(f"no run {run_id} of watch list {watch.name!r}")
    elif store.runs(watch):
        run = store.runs(watch)[-1]
    shown = StoredAlerts(store, watch, tuple(s for s in states if s != "suppressed"), run_id)
    suppressed = store.alerts(watch, ("suppressed",), run_id)
    return write_report(out_dir, f"Watch report: {watch.name}", shown, suppressed,
                        provenance(store, watch, settings, run), formats)


__all__ = ["StoredAlerts", "provenance", "settings_digest", "watch_report"]
