"""Watching: every new filing compared with every watched mark through the one query path.

A watch list's marks are indexed like any register (``build_with_settings``: embeddings, local features, names
read by OCR where none is given, figures of composite marks) into the list's own folder. A run then searches that
small index with each filing as the query (``run_queries``: image, spatial, name by sound, Vienna codes, figure,
the same fusion and explanations as ``POST /search``); the watched marks a filing resembles with a calibrated
conflict probability of at least the list's ``min_conflict`` (and a fused score of at least its ``min_score``)
become alerts (at most ``watch.per_filing`` per filing). Both thresholds are one fused score (``fused_floor``: the
calibrated map is monotone), which the query path prunes with: a candidate that cannot reach it even with a
perfect spatial match is not spatially verified (of the 100 best candidates by image, ~3 are on a typical filing).

Filings whose image files are the same bytes (the same mark filed again) are compared side by side, the image read
and embedded once (``repeats_together`` and the run's feature cache); each is still searched and alerted on its own.
Runs are resumable and incremental: filings go in chunks, each recorded in one transaction (``store.py``); a
filing already compared with the list's current marks is not compared again; an unreadable filing is listed as
skipped with its reason and retried by the next run. One writer per watch list at a time (a lock file).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from loguru import logger

from logo_similarity.config import Settings
from logo_similarity.datasets import LogoRecord
from logo_similarity.embeddings import Embedder
from logo_similarity.indexing import build_with_settings
from logo_similarity.preprocessing import ImageLoadError, load_image
from logo_similarity.reranking.calibration import score_floor, served_calibration
from logo_similarity.retrieval import SearchIndex
from logo_similarity.retrieval.projection import Projection
from logo_similarity.retrieval.results import SearchResult
from logo_similarity.retrieval.store.lock import index_writer
from logo_similarity.search.cache import QueryCache
from logo_similarity.search.query import run_queries
from logo_similarity.search.request import Query
from logo_similarity.text.normalize import phonetic_letters
from logo_similarity.watch.deadlines import opposition_deadline
from logo_similarity.watch.exceptions import ExceptionRules
from logo_similarity.watch.filings import repeats_together
from logo_similarity.watch.store import Alert, Watch, WatchStore


@dataclass
class RunReport:
    run_id: int
    filings: int
    compared: int = 0
    already: int = 0  # compared by an earlier run against the same marks
    skipped: list[dict[str, str]] = field(default_factory=list)
    alerts_new: int = 0
    images_reused: int = 0  # filings whose image repeats one the run had read: its features reused
    state: str = "done"
    seconds: float = 0.0


def marks_folder(store: WatchStore, watch: Watch) -> Path:
    return store.root / watch.folder_name


def marks_digest(index: SearchIndex) -> str:
    """What the list's marks are (their vectors and the fields compared): a new digest = compare everything again."""
    digest = hashlib.sha256()
    ids = np.array(sorted(index.metadata), dtype=np.int64)
    digest.update(np.ascontiguousarray(index.vectors(ids), dtype=np.float32).tobytes())
    for i in ids.tolist():
        meta = index.metadata[i]
        digest.update(repr((meta.get("key"), meta.get("text"), meta.get("ocr_text"), meta.get("vienna_codes"),
                            meta.get("nice_classes"))).encode())
    return digest.hexdigest()[:32]


def create_watch(store: WatchStore, name: str, client: str, marks: list[LogoRecord], embedder: Embedder,
                 settings: Settings, min_score: float | None = None, rules: ExceptionRules = ExceptionRules(),
                 uploads: Path | None = None, min_conflict: float | None = None,
                 projection: Projection | None = None) -> Watch:
    """A new watch list of ``marks``, indexed into its own folder; a mark whose image cannot be read refuses the
    list (with every such mark named), as a silently dropped mark would be a conflict nobody is told of.
    ``uploads``: the folder (under the store's root) its marks' images were uploaded to, removed with the list.

    ``projection``: the PCA of the register the filings come from. A list of fewer than ``index.pca_min_items``
    marks cannot fit its own, and raw embeddings rank poorly (unrelated marks sit at cosine .6-.85); with the
    register's it is compared in the register's whitened space, where unrelated marks sit near 0, as in a
    search of the register, and its conflict scores use the whitened calibration."""
    if not marks:
        raise ValueError("a watch list needs at least one mark")
    unreadable = []
    for mark in marks:  # before any work: every bad mark named at once
        try:
            load_image(mark.path, settings.image)
        except (ImageLoadError, OSError) as exc:
            unreadable.append(f"{mark.key}: {exc}")
    if unreadable:
        raise ValueError(f"{len(unreadable)} of the marks could not be read ({'; '.join(unreadable[:5])})")
    borrowed = projection if projection is not None and len(marks) < settings.index.pca_min_items else None
    index, report = build_with_settings(marks, embedder, settings, factory="Flat", projection=borrowed)
    if report.rejects:
        names = "; ".join(f"{r['key']}: {r['message']}" for r in report.rejects[:5])
        raise ValueError(f"{len(report.rejects)} of the marks could not be read ({names})")
    watch = store.create(name, client, settings.watch.min_score if min_score is None else min_score, len(index),
                         marks_digest(index), rules.to_json(), None if uploads is None else str(uploads),
                         settings.watch.min_conflict if min_conflict is None else min_conflict)
    try:
        with index_writer(marks_folder(store, watch), "logo-sim watch create", settings.watch.lock_timeout_s):
            index.save(marks_folder(store, watch))
    except BaseException:
        store.delete(watch)
        raise
    if index.projection is None:  # said loudly: the list works, but ranks its conflicts worse
        logger.warning("watch list {!r}: {} marks compared in raw embeddings (no register's PCA given, and a list "
                       "under index.pca_min_items = {} marks fits none of its own): conflicts rank worse there "
                       "(watch bench: recall_at_5x .60 against .85 whitened); give the register (CLI --register, "
                       "or create it through the API serving that index)", name, len(index),
                       settings.index.pca_min_items)
    else:
        space = "the register's whitened space" if borrowed is not None else "its own whitened space"
        logger.info("watch list {!r}: {} marks indexed, compared in {}", name, len(index), space)
    return watch


def delete_watch(store: WatchStore, watch: Watch, settings: Settings) -> None:
    """The list, its runs and alerts, and the folders this program made for its marks (their index, and the images
    the API received for them; a folder outside the store's root is never removed)."""
    folder = marks_folder(store, watch)
    with index_writer(folder, "logo-sim watch delete", settings.watch.lock_timeout_s):
        store.delete(watch)
    shutil.rmtree(folder, ignore_errors=True)
    if watch.uploads and Path(watch.uploads).resolve().is_relative_to(store.root.resolve() / "uploads"):
        shutil.rmtree(watch.uploads, ignore_errors=True)


def index_source(index_root: str | Path, since: str | None, live: str) -> str:
    """How a run over an index's new marks names its source (``last_index_version`` reads it back)."""
    return f"index {Path(index_root).resolve()} since {since or 'its start'} to {live}"


def last_index_version(store: WatchStore, watch: Watch, index_root: str | Path) -> str | None:
    """The index version the list's last completed run over ``index_root`` reached: where the next one starts."""
    prefix = f"index {Path(index_root).resolve()} since "
    done = [r["source"] for r in store.runs(watch) if r["state"] == "done" and r["source"].startswith(prefix)]
    return done[-1].rsplit(" to ", 1)[1] if done else None


def _alert(result: SearchResult, filing: LogoRecord, index: SearchIndex,
           months_by_office: dict[str, int], rules: ExceptionRules) -> Alert:
    mark = index.metadata[result.id]
    filing_nice = [int(c) for c in filing.extra.get("nice_classes") or ()]
    body: dict[str, Any] = {
        "mark": {"id": result.id, "key": result.key, "name": result.text or mark.get("ocr_text"),
                 "file": mark.get("file"), "vienna_codes": result.vienna_codes, "nice_classes": result.nice_classes,
                 "owner": mark.get("owner"), "owner_id": mark.get("owner_id")},
        "filing": {"key": filing.key, "file": str(Path(filing.path).absolute()), "name": filing.text,
                   "vienna_codes": list(filing.vienna_codes), "nice_classes": filing_nice,
                   **{k: filing.extra.get(k) for k in ("published", "office", "owner", "owner_id",
                                                       "application_number")},
                   "opposition_deadline": opposition_deadline(filing.extra.get("published"),
                                                              filing.extra.get("office"), months_by_office)},
        "rank_for_filing": result.rank,
        "conflict_score": result.conflict_score,
        "tier": result.tier,
        "components": result.components,
        "nice_shared": sorted(set(filing_nice) & set(result.nice_classes)),
        "explanation": result.explanation,
    }
    suppressed = rules.suppressed_by(body["mark"], body["filing"])
    if suppressed:
        body["suppressed_by"] = suppressed
    return Alert(result.id, filing.key, result.score, body)


def run_watch(store: WatchStore, watch: Watch, filings: list[LogoRecord], embedder: Embedder, settings: Settings,
              source: str = "", unreadable: list[dict[str, str]] | None = None,
              progress: Callable[[int, int], None] | None = None,
              should_stop: Callable[[], bool] | None = None) -> RunReport:
    """Compare ``filings`` with the list's marks; see the module doc. ``unreadable``: filings of the source that
    never became records (bad XML), listed as skipped ({filing, reason, message}); ``should_stop`` is polled
    between chunks."""
    start = time.perf_counter()
    folder = marks_folder(store, watch)
    with index_writer(folder, f"logo-sim watch run {watch.name}", settings.watch.lock_timeout_s):
        index = SearchIndex.load(folder)
        index.check_compatible(embedder.spec)
        run_id = store.start_run(watch, source, len(filings))
        report = RunReport(run_id, len(filings))
        before = store.compared_before(watch, [f.key for f in filings])
        pending = repeats_together([f for f in filings if f.key not in before])
        cache = QueryCache(settings.search.query_cache)  # a repeated image's features (repeats come together)
        report.already = len(filings) - len(pending)
        report.skipped = list(unreadable or [])
        store.record_chunk(run_id, watch, [], [], report.skipped, already=report.already)
        k = min(settings.watch.per_filing, len(index))
        try:
            for at in range(0, len(pending), settings.watch.chunk):
                chunk = pending[at:at + settings.watch.chunk]
                report.alerts_new += _compare_chunk(store, watch, run_id, index, embedder, settings, chunk, k, report,
                                                   cache)
                if progress is not None:
                    progress(min(at + len(chunk), len(pending)), len(pending))
                if should_stop is not None and should_stop() and at + len(chunk) < len(pending):
                    report.state = "cancelled"
                    break
        except Exception as exc:
            store.finish_run(run_id, "failed", f"{type(exc).__name__}: {exc}")
            raise
        store.finish_run(run_id, report.state)
    report.images_reused = cache.hits
    report.seconds = time.perf_counter() - start
    logger.info("run {} of watch list {!r}: {} filings compared ({} repeated an image the run had read: not read "
                "again), {} skipped, {} already compared, {} new alerts in {:.1f} s", run_id, watch.name,
                report.compared, report.images_reused, len(report.skipped), report.already, report.alerts_new,
                report.seconds)
    return report


def fused_floor(watch: Watch, whitened: bool, settings: Settings) -> float:
    """The fused score a pair must reach to pass (``passes``), given to the query path to prune with: the list's
    ``min_score``, or higher where its ``min_conflict`` asks more (the calibrated map is monotone, so a lower
    score never reaches it). A hair under the exact value: rounding must never prune a pair that passes."""
    floor = watch.min_score
    if watch.min_conflict is not None:
        calibration = served_calibration(settings.calibration, settings.rerank, whitened)
        if calibration is not None:  # else the run has no conflict scores to pass
            floor = max(floor, score_floor(calibration, watch.min_conflict))
    return floor - 1e-9


def passes(result: SearchResult, watch: Watch) -> bool:
    """An alert: the pair's fused score reaches the list's ``min_score`` and, when it has a calibrated conflict
    score and the list a ``min_conflict``, that too (the fused score's scale differs between embedding spaces;
    the conflict probability's does not)."""
    if result.score < watch.min_score:
        return False
    return watch.min_conflict is None or result.conflict_score is None or result.conflict_score >= watch.min_conflict


def _compare_chunk(store: WatchStore, watch: Watch, run_id: int, index: SearchIndex, embedder: Embedder,
                   settings: Settings, chunk: list[LogoRecord], k: int, report: RunReport, cache: QueryCache) -> int:
    rules = ExceptionRules.from_json(json.loads(watch.rules))
    floor = fused_floor(watch, index.projection is not None, settings)
    queries, readable, skipped = [], [], []
    for filing in chunk:
        try:
            image = load_image(filing.path, settings.image)
        except (ImageLoadError, OSError) as exc:
            skipped.append({"filing": filing.key, "reason": getattr(exc, "reason", "unreadable"), "message": str(exc)})
            continue
        name = filing.text if filing.text and phonetic_letters(filing.text) else None  # "&" is no name to compare
        classes = tuple(int(c) for c in filing.extra.get("nice_classes") or ())
        queries.append(Query(image=image, text=name, vienna_codes=filing.vienna_codes, k=k, rerank=True,
                             nice_classes=classes, min_score=floor))
        readable.append(filing)
    alerts = []
    for filing, outcome in zip(readable, run_queries(index, embedder, queries, settings, cache) if queries else []):
        alerts += [_alert(r, filing, index, settings.watch.opposition_months, rules)
                   for r in outcome.results if passes(r, watch)]
    report.compared += len(readable)
    report.skipped += skipped
    return store.record_chunk(run_id, watch, [f.key for f in readable], alerts, skipped)


__all__ = ["RunReport", "create_watch", "delete_watch", "index_source", "last_index_version", "marks_digest",
           "run_watch"]
