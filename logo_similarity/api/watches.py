"""Watch lists through the API: what the routes (``routes/watches.py``) call, on the store and runs of ``watch/``.

Every call acts for a client (``Principal``): its lists, runs and alerts only, and "not found" for another
client's (the admin sees all). Uploaded images are staged under ``watch.root/uploads`` (a list's marks: kept
with the list, removed with it) and ``watch.root/staged`` (a run's filings: removed when its job ends, kept when
the server stops mid-run so the restarted server resumes the job). A run is a job of the service's job queue.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, BinaryIO

from logo_similarity.api.batch import batch_records, job_folder, stage_batch
from logo_similarity.api.errors import BadQuery, NotFound, WriteConflict
from logo_similarity.api.jobs import Job, JobCancelled, JobManager
from logo_similarity.api.keys import Principal
from logo_similarity.api.service import SearchService
from logo_similarity.config import Settings
from logo_similarity.datasets import LogoRecord
from logo_similarity.watch.exceptions import ExceptionRules
from logo_similarity.watch.filings import VersionNotFound, items_since
from logo_similarity.watch.marks import item_record
from logo_similarity.watch.reports import watch_report
from logo_similarity.watch.run import create_watch, delete_watch, index_source, run_watch
from logo_similarity.watch.store import STATES, Watch, WatchExists, WatchNotFound, WatchStore

RUN_KIND = "watch_run"


def owner(who: Principal) -> str | None:
    """The client a store query is limited to (None: the admin, all clients)."""
    return None if who.admin else who.name


class WatchService:
    def __init__(self, settings: Settings, service: SearchService, jobs: JobManager) -> None:
        self.service = service
        self.settings = settings
        self.jobs = jobs
        self.root = Path(self.settings.watch.root)
        self._store: WatchStore | None = None

    @property
    def store(self) -> WatchStore:
        """Opened (and the folder made) at first use: a service nobody asks about watches makes nothing."""
        if self._store is None:
            self._store = WatchStore(self.root, self.settings.watch.lock_timeout_s)
        return self._store

    def get(self, who: Principal, watch_id: int) -> Watch:
        try:
            return self.store.get(int(watch_id), owner(who))
        except WatchNotFound as exc:
            raise NotFound(str(exc), reason="unknown_watch") from None

    def create(self, who: Principal, name: str, files: list[tuple[str, BinaryIO]], metadata: bytes,
               ids: list[int], min_score: float | None, rules: ExceptionRules,
               min_conflict: float | None = None) -> Watch:
        """A new list of the uploaded images (``metadata``: their L3D lines) and of the served index's ``ids``; a
        small list is compared in the served index's whitened space (its PCA, ``create_watch``)."""
        marks: list[LogoRecord] = []
        folder = None
        if ids:
            index = self.service.live.index
            unknown = [i for i in ids if i not in index.metadata]
            if unknown:
                raise NotFound(f"the index has no items {unknown[:5]}", reason="unknown_item")
            marks += [item_record(index.metadata[i]) for i in ids]
        if files:
            staged = stage_batch(self.root / "uploads", files, metadata)
            folder = staged.folder
            marks += batch_records(folder)
        if not marks:
            raise BadQuery("a watch list needs marks: 'images' files, or 'ids' of indexed marks", reason="no_marks")
        keys = [m.key for m in marks]
        if len(set(keys)) != len(keys):
            self._discard(folder)
            raise BadQuery("two marks have the same key (an uploaded image's id or file name, or an indexed mark's "
                           "key)", reason="duplicate_mark")
        try:
            return create_watch(self.store, name, who.name, marks, self.service.embedder, self.settings, min_score,
                                rules, uploads=folder, min_conflict=min_conflict,
                                projection=self.service.live.index.projection)
        except WatchExists as exc:
            self._discard(folder)
            raise WriteConflict(str(exc), reason="watch_exists") from None
        except ValueError as exc:  # a mark's image could not be read: the list is refused, naming it
            self._discard(folder)
            raise BadQuery(str(exc), reason="unreadable_marks") from None
        except BaseException:
            self._discard(folder)
            raise

    @staticmethod
    def _discard(folder: Path | None) -> None:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def delete(self, who: Principal, watch_id: int) -> Watch:
        watch = self.get(who, watch_id)
        delete_watch(self.store, watch, self.settings)
        return watch

    def alerts(self, who: Principal, watch_id: int, states: list[str] | None, limit: int | None = None,
               offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """A page of the list's alerts in ``states``, and how many there are in all."""
        bad = [s for s in states or () if s not in (*STATES, "suppressed")]
        if bad:
            raise BadQuery(f"unknown state {bad[0]!r}; one of {', '.join((*STATES, 'suppressed'))}",
                           reason="invalid_state")
        watch, wanted = self.get(who, watch_id), tuple(states) if states else STATES
        return self.store.alerts(watch, wanted, limit=limit, offset=offset), self.store.count_alerts(watch, wanted)

    def triage(self, who: Principal, watch_id: int, alert_id: int, state: str) -> dict[str, Any]:
        watch = self.get(who, watch_id)
        try:
            return self.store.set_state(watch, alert_id, state)
        except WatchNotFound as exc:
            raise NotFound(str(exc), reason="unknown_alert") from None
        except ValueError as exc:
            raise BadQuery(str(exc), reason="invalid_state") from None

    def runs(self, who: Principal, watch_id: int) -> list[dict[str, Any]]:
        return self.store.runs(self.get(who, watch_id))

    def run(self, who: Principal, watch_id: int, run_id: int) -> dict[str, Any]:
        watch = self.get(who, watch_id)
        try:
            run = self.store.run(run_id, owner(who))
        except WatchNotFound as exc:
            raise NotFound(str(exc), reason="unknown_run") from None
        if run["watch_id"] != watch.id:
            raise NotFound(f"no run {run_id} of watch list {watch.id}", reason="unknown_run")
        return run

    def report(self, who: Principal, watch_id: int, run_id: int | None, fmt: str) -> Path:
        """The report in one format, written into a folder of its own under the store's ``reports/``: the caller
        sends the file (streamed: a week's report can be hundreds of MB) and then removes that folder."""
        watch = self.get(who, watch_id)
        if run_id is not None:
            self.run(who, watch_id, run_id)  # 404 for a run that is not this list's
        reports = self.root / "reports"
        reports.mkdir(parents=True, exist_ok=True)
        for stale in reports.glob("report-*"):  # left by a process killed while sending (none is sent for an hour)
            if time.time() - stale.stat().st_mtime > 3600:
                shutil.rmtree(stale, ignore_errors=True)
        folder = Path(tempfile.mkdtemp(prefix="report-", dir=reports))
        try:
            return watch_report(self.store, watch, self.settings, folder, run_id, formats=(fmt,))[fmt]
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    def report_sent(self, path: Path) -> None:
        """Remove the folder ``report`` made for ``path`` (only a folder under the store's ``reports/``)."""
        folder = Path(path).parent
        if folder.name.startswith("report-") and folder.parent.resolve() == (self.root / "reports").resolve():
            shutil.rmtree(folder, ignore_errors=True)

    # runs as jobs ------------------------------------------------------------------------------------------
    def start_run(self, who: Principal, watch_id: int, files: list[tuple[str, BinaryIO]], metadata: bytes,
                  since: str | None, since_index: bool) -> Job:
        """Queue a run over uploaded filings, or over the marks the served index gained since version ``since``
        (``since_index`` without ``since``: all its marks)."""
        watch = self.get(who, watch_id)
        if files and since_index:
            raise BadQuery("send filings as images or name an index version ('since'), not both", reason="two_sources")
        params: dict[str, Any] = {"watch_id": watch.id, "client": watch.client}
        if since_index:
            self._since(since)  # 404 now rather than a failed job later
            params["since"] = since or ""
            job = self.jobs.submit(RUN_KIND, self.work(params), params=params)
            return job
        if not files:
            raise BadQuery("send the filings as 'images' files, or 'since' an index version", reason="no_filings")
        staged = stage_batch(self.root / "staged", files, metadata)
        params["staged"] = staged.id
        return self.jobs.submit(RUN_KIND, self.work(params), params=params, job_id=staged.id)

    def _since(self, since: str | None) -> tuple[list[LogoRecord], str]:
        try:
            return items_since(self.service.root, since or None)
        except VersionNotFound as exc:
            raise NotFound(str(exc), reason="unknown_version") from None

    def work(self, params: dict[str, Any]):
        """The job's work (also for a job a restart interrupted: ``resume``)."""
        def work(progress, cancel) -> dict[str, Any]:
            folder = job_folder(self.root / "staged", params["staged"]) if "staged" in params else None
            keep = False
            try:
                watch = self.store.get(params["watch_id"], None)
                if folder is not None:
                    records, source = batch_records(folder), "upload"
                else:
                    records, live = self._since(params["since"])
                    source = index_source(self.service.root, params["since"], live)
                report = run_watch(self.store, watch, records, self.service.embedder, self.settings, source=source,
                                   progress=progress, should_stop=cancel.is_set)
                cancel.check()
                return {"watch_id": watch.id, "run_id": report.run_id, **{k: v for k, v in self.store.run(
                    report.run_id, None).items() if k in ("state", "filings", "compared", "already", "skipped",
                                                            "alerts_new", "suppressed")},
                        "images_reused": report.images_reused}
            except JobCancelled:
                keep = cancel.cause == "shutdown"
                raise
            finally:
                if folder is not None and not keep:
                    shutil.rmtree(folder, ignore_errors=True)

        return work

    def resume(self, job: Job):
        """Work for a run a restart interrupted (its filings are still staged), else None."""
        if "staged" in job.params and not job_folder(self.root / "staged", job.params["staged"]).is_dir():
            return None
        return self.work(job.params)

    def cancel(self, who: Principal, watch_id: int, job_id: str) -> Job:
        watch = self.get(who, watch_id)
        job = self.jobs.get(job_id)
        if job is None or job.kind != RUN_KIND or job.params.get("watch_id") != watch.id:
            raise NotFound(f"no run job {job_id!r} of watch list {watch.id}", reason="unknown_job")
        job, applied = self.jobs.cancel(job_id)
        if not applied:
            raise WriteConflict(f"job {job_id} has already finished ({job.state})", reason="job_finished")
        return job


__all__ = ["RUN_KIND", "WatchService", "owner"]
