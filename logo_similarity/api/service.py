"""The search service behind the API: the live index, queries against it, and the writes that replace it.

Hot swap: a request takes one reference to the live index (``self.live``) and uses it to the end; a write
(add, delete, rebuild) builds and saves a new version, loads it, and replaces the reference in one
assignment. Requests in flight finish on the old version (its memory-mapped files stay valid even when the
folder is pruned), new ones see the new version; none fails or waits. Writes are serialised by a lock (and,
across processes, by the index root's file lock: a CLI ``logo-sim add`` waits for the server and the other way
round), and a running rebuild makes adds and deletes answer 409 at once instead of being lost in the rebuilt
index or waiting for it.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from loguru import logger
from PIL import Image

from logo_similarity.api.errors import BadQuery, InsufficientStorage, NotFound, Unavailable, WriteConflict
from logo_similarity.api.rebuild import rebuild_in_process
from logo_similarity.api.batch import StagedBatch, batch_records, job_folder, stage_batch
from logo_similarity.api.jobs import JobCancelled
from logo_similarity.api.uploads import prune_uploads, store_upload
from logo_similarity.config import Settings
from logo_similarity.datasets import LogoRecord
from logo_similarity.embeddings.loading import embedder_for_spec
from logo_similarity.preprocessing import load_image
from logo_similarity.retrieval import SearchIndex
from logo_similarity.retrieval.rollback import load_servable
from logo_similarity.retrieval.store.errors import CorruptIndexError
from logo_similarity.retrieval.filters import ItemFilter
from logo_similarity.indexing.edits import EditError, clean_edit, edit_items_locked
from logo_similarity.retrieval.store.lock import IndexLockedError, index_writer
from logo_similarity.retrieval.store.metadata import ids_with_extra
from logo_similarity.search import Query, QueryError, QueryOutcome, crop_box, run_queries, run_query
from logo_similarity.search.cache import QueryCache
from logo_similarity.indexing.update import add_items_locked, delete_items_locked
from logo_similarity.retrieval.store.versions import live_version
from logo_similarity.preprocessing.elements import element_reader
from logo_similarity.text.read_name import name_reader
from logo_similarity.utils.fs import is_disk_full



@dataclass(frozen=True)
class LiveIndex:
    index: SearchIndex
    version: str
    loaded_at: float
    cache: QueryCache | None = None  # query images' features, for this version only


class SearchService:
    def __init__(self, settings: Settings, root: str | Path, model: str | None = None) -> None:
        self.settings = settings
        self.root = Path(root)
        self.model = model
        self.embedder = None
        self.load_error: str | None = None
        self.warning: str | None = None  # set while serving an earlier version because the live one is corrupt
        self.swaps = 0
        self._live: LiveIndex | None = None
        self._write_lock = threading.Lock()
        self._rebuilding = False

    # -- loading and swapping -------------------------------------------------------------------------------

    def load(self) -> None:
        """Load the live version and the matching embedder (blocking); remembers the error when it fails."""
        try:
            index, self.warning = load_servable(self.root, mmap=self.settings.index.mmap)
            if self.embedder is None:
                # concurrent searches each get few inference threads: more throughput on a loaded server
                model = self.settings.model.model_copy(update={"threads": self.settings.api.inference_threads})
                self.embedder = embedder_for_spec(self.model, index.spec, self.settings.model_copy(update={"model": model}))
            if self.settings.search.rerank and (self.settings.rerank.ocr_query or self.settings.elements.enabled):
                from logo_similarity.text.ocr import prepare_ocr

                prepare_ocr(self.settings.text, Path(self.settings.model.cache_dir).expanduser(),
                            recognize=self.settings.rerank.ocr_query)
            self._install(index)
            self.load_error = None
        except Exception as exc:  # reported by /ready and every search until fixed; the process keeps running
            self.load_error = f"{type(exc).__name__}: {exc}"
            logger.error("index not loaded from {}: {}", self.root, self.load_error)
            raise

    def _install(self, index: SearchIndex) -> None:
        index.check_compatible(self.embedder.spec)
        index.name_index(self.settings.text.phonetic_weight)  # built now, not by the first name query
        previous = self._live
        folder = index.folder or live_version(self.root)
        cache = QueryCache(self.settings.search.query_cache) if self.settings.search.query_cache else None
        self._live = LiveIndex(index, folder.name, time.time(), cache)
        if previous is not None:
            self.swaps += 1
            logger.info("switched to index version {} ({} items)", self._live.version, len(index))

    def swap(self) -> None:
        self._install(SearchIndex.load(self.root, expected_spec=self.embedder.spec, mmap=self.settings.index.mmap))
        self.warning = None

    @property
    def ready(self) -> bool:
        return self._live is not None

    @property
    def live(self) -> LiveIndex:
        live = self._live
        if live is None:
            raise Unavailable(self.load_error or "the index is still loading", reason="index_not_ready")
        return live

    # -- queries --------------------------------------------------------------------------------------------

    def decode(self, data: bytes, box: tuple[int, int, int, int] | None) -> Image.Image:
        image = load_image(data, self.settings.image)
        if box is not None:
            try:
                image = crop_box(image, box, self.settings.image.min_side)
            except QueryError as exc:
                raise BadQuery(str(exc), reason="invalid_box") from exc
        return image

    def search(self, live: LiveIndex, image: Image.Image | None, text: str | None, k: int, item_filter: ItemFilter,
               rerank: bool, item_id: int | None = None, vienna_codes: tuple[str, ...] = (),
               nice_classes: tuple[int, ...] = ()) -> QueryOutcome:
        vector = cells = ink = None
        codes, classes = tuple(vienna_codes), tuple(nice_classes)
        if item_id is not None:
            meta = self.item(live, item_id)
            vector = live.index.vectors([item_id])[0]
            text = text or meta.get("text")
            codes = tuple(meta.get("vienna_codes") or ())
            classes = tuple(meta.get("nice_classes") or ())
            if live.index.local is not None and item_id in live.index.local:
                _, stored, stored_ink = live.index.local.take([item_id])
                cells, ink = stored[0], stored_ink[0]
        try:
            query = Query(image, vector, text, k, item_filter, rerank, codes, cells, ink, nice_classes=classes)
            return run_query(live.index, self.embedder, query, self.settings, cache=live.cache)
        except QueryError as exc:
            raise BadQuery(str(exc)) from exc

    def search_batch(self, live: LiveIndex, images: list[Image.Image], k: int, item_filter: ItemFilter,
                     rerank: bool) -> list[QueryOutcome]:
        """Several query images at once (``run_queries``: embedded together), each ranked as ``search`` would."""
        queries = [Query(image, None, None, k, item_filter, rerank) for image in images]
        return run_queries(live.index, self.embedder, queries, self.settings, cache=live.cache)

    def item(self, live: LiveIndex, item_id: int) -> dict[str, Any]:
        meta = live.index.metadata.get(item_id)
        if meta is None:
            raise NotFound(f"no item with id {item_id} in index version {live.version}", reason="unknown_id")
        return meta

    # -- writes ---------------------------------------------------------------------------------------------

    @contextmanager
    def _writing(self, what: str):
        """One write of this server: its thread lock, then the index root's lock (other processes' writers).

        The rebuild flag is read under the lock that begin_rebuild sets it under, and a rebuild does not hold
        that lock while it runs: a write either finishes before the rebuild claims the index or is refused at once.
        """
        with self._write_lock:
            if self._rebuilding:
                raise WriteConflict(f"cannot {what} while the index is being rebuilt; retry when the job ends",
                                    reason="rebuild_running")
            try:
                with index_writer(self.root, f"API: {what}", self.settings.index.lock_timeout_s):
                    yield
            except IndexLockedError as exc:
                raise WriteConflict(str(exc), reason="index_locked") from exc
            except CorruptIndexError as exc:
                raise Unavailable(f"{exc}; writes are refused until it is rolled back (`logo-sim rollback`) "
                                  "or rebuilt", reason="index_corrupt") from exc
            except OSError as exc:
                if not is_disk_full(exc):
                    raise
                raise InsufficientStorage(str(exc), reason="disk_full") from exc

    def add_item(self, data: bytes, name: str | None, vienna_codes: list[str], year: int | None,
                 key: str | None) -> tuple[int, str]:
        """Store the uploaded image under ``ROOT/uploads``, embed and add it; returns (id, version)."""
        load_image(data, self.settings.image)  # refuse bad images before anything is written
        s = self.settings
        with self._writing("add items"):
            path = store_upload(self.root, data)
            record = LogoRecord(key or f"upload-{path.stem[:16]}", path, name, tuple(vienna_codes), year)
            try:
                report = add_items_locked(self.root, [record], self.embedder, s.image, s.model.batch_size,
                                          s.index.workers, read_names=name_reader(s),
                                          elements=element_reader(s))
            finally:
                prune_uploads(self.root)  # a rejected (or failed) add leaves no image behind
            if report.rejects:
                raise BadQuery(report.rejects[0]["message"], reason=report.rejects[0]["reason"])
            self.swap()
            return report.added[0], self.live.version

    def delete_item(self, item_id: int) -> str:
        with self._writing("delete items"):
            self.item(self.live, item_id)
            delete_items_locked(self.root, [item_id])
            prune_uploads(self.root)  # images of items no kept version holds any more
            self.swap()
            return self.live.version

    def edit_item(self, item_id: int, change: dict[str, Any]) -> tuple[bool, str]:
        """Correct the fields ``change`` names (no re-embedding); returns (changed, version)."""
        try:
            cleaned = clean_edit(change, self.settings.classification.vienna_file)
        except EditError as exc:
            raise BadQuery(str(exc), reason="invalid_edit") from exc
        with self._writing("edit items"):
            self.item(self.live, item_id)
            report = edit_items_locked(self.root, {item_id: cleaned})
            if report.version is not None:
                self.swap()
            return bool(report.changed), self.live.version

    # -- bulk adds (api/batch.py) ----------------------------------------------------------------------------

    def stage_batch(self, files, metadata: bytes) -> StagedBatch:
        return stage_batch(self.root, files, metadata)

    def batch_work(self, job_id: str):
        """The job's work for a staged bulk add (None when its folder is gone: nothing left to resume)."""
        if not job_folder(self.root, job_id).is_dir():
            return None
        return lambda progress, cancel: self.add_batch(job_id, progress, cancel)

    def add_batch(self, job_id: str, progress=None, cancel=None) -> dict[str, Any]:
        """Add a staged batch as one new version; idempotent when run again after an interruption."""
        folder = job_folder(self.root, job_id)
        keep_folder = False
        try:
            records = batch_records(folder)
            s = self.settings
            with self._writing(f"bulk add {job_id}"):
                landed = ids_with_extra(live_version(self.root) / "metadata.sqlite", "batch_job", job_id)
                if landed:  # a previous run switched to its version before the server stopped
                    self.swap()
                    return {"added": len(landed), "rejected": None, "ids": landed, "version": self.live.version}
                stored, uploaded_as = [], {}
                for record in records:
                    data = record.path.read_bytes()
                    path = store_upload(self.root, data)
                    stored.append(replace(record, path=path, extra={**record.extra, "batch_job": job_id}))
                    uploaded_as[str(path)] = record.path.name

                def step(done: int, total: int) -> None:
                    if cancel is not None:
                        cancel.check()  # before the save: a cancelled batch adds nothing
                    if progress is not None:
                        progress(done, total)

                try:
                    report = add_items_locked(self.root, stored, self.embedder, s.image, s.model.batch_size,
                                              s.index.workers, read_names=name_reader(s), progress=step,
                                              elements=element_reader(s))
                finally:
                    prune_uploads(self.root)
                self.swap()
            rejects = [{**r, "file": uploaded_as.get(r["file"], Path(r["file"]).name)} for r in report.rejects]
            return {"added": len(report.added), "rejected": len(rejects), "rejects": rejects[:100],
                    "ids": report.added, "version": self.live.version}
        except JobCancelled:
            keep_folder = cancel is not None and cancel.cause == "shutdown"  # resumed at the next start
            raise
        finally:
            if not keep_folder:
                shutil.rmtree(folder, ignore_errors=True)

    def begin_rebuild(self) -> None:
        """Claim the index for a rebuild (409 when one is already running); the job calls ``rebuild``."""
        with self._write_lock:
            if self._rebuilding:
                raise WriteConflict("a rebuild is already running", reason="rebuild_running")
            self._rebuilding = True

    def rebuild(self, progress: Callable[[int, int], None] | None = None, cancel=None) -> dict[str, Any]:
        """Re-embed every live item (same ids), re-choose and re-train the index, save and switch to it.

        The work runs in a separate process (api/rebuild.py) that holds the index's write lock. Items whose
        image can no longer be read fail the job and leave the live index as it was: a rebuild never drops marks
        silently. ``cancel`` (the job's Cancellation) kills the process; the live index is then unchanged.
        """
        try:
            result = rebuild_in_process(
                self.settings.model_dump(mode="json", exclude={"api"}), self.root, self.live.index.spec.to_dict(),
                self.model, progress, cancel,
            )
            with index_writer(self.root, "rebuild clean-up", self.settings.index.lock_timeout_s):
                prune_uploads(self.root)
            self.swap()
            return {**result, "version": self.live.version}
        finally:
            with self._write_lock:
                self._rebuilding = False
