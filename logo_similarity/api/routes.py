"""Search, item, index-write and job endpoints."""

from __future__ import annotations

import asyncio
import re
import time
from concurrent.futures import Executor
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse
from starlette.datastructures import UploadFile as StarletteUpload

from logo_similarity.api import schemas
from logo_similarity.api.errors import BadQuery, NotFound, WriteConflict
from logo_similarity.api.jobs import JobManager
from logo_similarity.api.metrics import Metrics
from logo_similarity.api.routes_catalog import vienna_out
from logo_similarity.api.service import LiveIndex, SearchService
from logo_similarity.classification import load_vienna
from logo_similarity.config import Settings
from logo_similarity.datasets.records import VIENNA_CODE
from logo_similarity.retrieval.filters import VIENNA_PREFIX, ItemFilter
from logo_similarity.search import QueryOutcome
from logo_similarity.retrieval.results import SearchResult

BOX = re.compile(r"^\s*\d{1,6}\s*,\s*\d{1,6}\s*,\s*\d{1,6}\s*,\s*\d{1,6}\s*$")
MEDIA = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
         ".webp": "image/webp", ".bmp": "image/bmp", ".tif": "image/tiff", ".tiff": "image/tiff"}
ERRORS = schemas.ERRORS

BATCH_FORM = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["images"],
    "properties": {
        "images": {"type": "array", "items": {"type": "string", "format": "binary"},
                   "description": "the marks' images (file names unique within the batch)"},
        "metadata": {"type": "string", "format": "binary",
                     "description": 'JSON lines, one per image: {"file": "<upload name>", "text": "BRAND", '
                                    '"vienna_codes": ["27.05.01"], "year": 2016, "id": "your key"}'},
    }}}}}}

KParam = Annotated[int, Query(ge=1, le=1000, description="number of results")]
ViennaParam = Annotated[str, Query(pattern=VIENNA_PREFIX.pattern, description="Vienna code prefix, e.g. 27.05")]
YearParam = Annotated[int, Query(ge=0, le=9999)]
NICE_HELP = "only marks in any of these Nice classes, e.g. 9,42"
NiceParam = Annotated[str, Query(max_length=200, description=NICE_HELP)]


def _filter(vienna: str | None, year_from: int | None, year_to: int | None, nice: str | None = None) -> ItemFilter:
    try:
        return ItemFilter(vienna, year_from, year_to, nice or frozenset())
    except ValueError as exc:
        raise BadQuery(str(exc), reason="invalid_filter") from exc


def _box(box: str | None) -> tuple[int, int, int, int] | None:
    if box is None or not box.strip():
        return None
    if not BOX.match(box):
        raise BadQuery(f"box must be 'left,top,right,bottom' in pixels, got {box!r}", reason="invalid_box")
    return tuple(int(v) for v in box.split(","))  # type: ignore[return-value]


def _text(text: str | None) -> str | None:
    return text.strip() or None if text is not None else None


def _codes(codes: str | None) -> tuple[str, ...]:
    parts = tuple(c.strip() for c in (codes or "").split(",") if c.strip())
    bad = [c for c in parts if not VIENNA_CODE.match(c)]
    if bad:
        raise BadQuery(f"Vienna codes must look like 27.05.01, got {bad[:3]}", reason="invalid_vienna_code")
    return parts


def build_router(service: SearchService, jobs: JobManager, metrics: Metrics, pool: Executor, write_pool: Executor,
                 read, write, settings: Settings) -> APIRouter:
    router = APIRouter()
    default_k, default_rerank = settings.search.k, settings.search.rerank
    vienna_table = load_vienna(settings.classification.vienna_file)

    async def off_loop(fn, *args):
        return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)

    async def off_write(fn, *args):
        return await asyncio.get_running_loop().run_in_executor(write_pool, fn, *args)

    def image_url(request: Request, item_id: int) -> str:
        return f"{request.scope.get('root_path', '')}/items/{item_id}/image"

    def result_out(request: Request, r: SearchResult) -> schemas.ResultOut:
        return schemas.ResultOut(
            rank=r.rank, id=r.id, score=r.score, components=schemas.ComponentScores(**r.components),
            explanation=schemas.Explanation(**r.explanation), name=r.text,
            key=r.key, vienna_codes=r.vienna_codes, vienna=vienna_out(vienna_table, r.vienna_codes),
            nice_classes=r.nice_classes, year=r.year, image_url=image_url(request, r.id),
        )

    def search_out(request: Request, live: LiveIndex, outcome: QueryOutcome, k: int) -> schemas.SearchOut:
        for stage, ms in outcome.timings_ms.items():
            metrics.stage.labels(stage).observe(ms / 1000.0)
        return schemas.SearchOut(
            results=[result_out(request, r) for r in outcome.results], k=k, reranked=outcome.reranked,
            candidates=outcome.candidates, index_version=live.version, query_text=outcome.query_text,
            query_text_source=outcome.query_text_source,
            timings_ms={s: round(ms, 3) for s, ms in outcome.timings_ms.items()},
        )

    @router.post("/search", response_model=schemas.SearchOut, responses=ERRORS, dependencies=[Depends(read)],
                 tags=["search"])
    async def search(
        request: Request,
        image: Annotated[UploadFile, File(description="query logo (PNG, JPEG, GIF, WebP, TIFF, BMP)")] = None,
        text: Annotated[str, Form(min_length=1, max_length=200, pattern=r"[A-Za-z0-9]",
                                  description="the mark's name (sound-alike search)")] = None,
        k: Annotated[int, Form(ge=1, le=1000)] = default_k,
        box: Annotated[str, Form(pattern=BOX.pattern, description="crop of the query image: left,top,right,bottom (px)")] = None,
        vienna: Annotated[str, Form(pattern=VIENNA_PREFIX.pattern, description="Vienna code prefix, e.g. 27.05")] = None,
        year_from: Annotated[int, Form(ge=0, le=9999)] = None,
        year_to: Annotated[int, Form(ge=0, le=9999)] = None,
        nice: Annotated[str, Form(max_length=200, description=NICE_HELP)] = None,
        rerank: Annotated[bool, Form(description="order by the composite score")] = None,
        codes: Annotated[str, Form(max_length=400, description="the query mark's Vienna codes, comma-separated "
                                   "(e.g. 27.05.01,26.01.03): a re-ranking component")] = None,
    ) -> schemas.SearchOut:
        """Marks that look like the image and/or sound like the name, ranked, with every component score."""
        start = time.perf_counter()
        data = await image.read() if image is not None else None
        if image is not None and not data and not image.filename:
            data = None  # an empty file input of a browser form: no image given
        read_ms = (time.perf_counter() - start) * 1000.0
        text, crop, item_filter = _text(text), _box(box), _filter(vienna, year_from, year_to, nice)
        query_codes = _codes(codes)
        do_rerank = default_rerank if rerank is None else rerank

        def work() -> tuple[LiveIndex, QueryOutcome]:
            live = service.live
            t0 = time.perf_counter()
            query = service.decode(data, crop) if data is not None else None
            decode_ms = (time.perf_counter() - t0) * 1000.0
            outcome = service.search(live, query, text, k, item_filter, do_rerank, vienna_codes=query_codes)
            outcome.timings_ms = {"read": read_ms, "decode": decode_ms, **outcome.timings_ms}
            return live, outcome

        live, outcome = await off_loop(work)
        outcome.timings_ms["total"] = (time.perf_counter() - start) * 1000.0
        return search_out(request, live, outcome, k)

    @router.post("/search/by-id/{item_id}", response_model=schemas.SearchOut, responses=ERRORS,
                 dependencies=[Depends(read)], tags=["search"])
    async def search_by_id(
        request: Request, item_id: int, k: KParam = default_k, vienna: ViennaParam = None,
        year_from: YearParam = None, year_to: YearParam = None, nice: NiceParam = None,
        rerank: Annotated[bool, Query(description="order by the composite score")] = None,
    ) -> schemas.SearchOut:
        """Marks like an indexed item (its stored embedding, and its name)."""
        start = time.perf_counter()
        item_filter = _filter(vienna, year_from, year_to, nice)
        do_rerank = default_rerank if rerank is None else rerank

        def work() -> tuple[LiveIndex, QueryOutcome]:
            live = service.live
            return live, service.search(live, None, None, k, item_filter, do_rerank, item_id=item_id)

        live, outcome = await off_loop(work)
        outcome.timings_ms["total"] = (time.perf_counter() - start) * 1000.0
        return search_out(request, live, outcome, k)

    @router.get("/items/{item_id}", response_model=schemas.ItemOut, responses=ERRORS, dependencies=[Depends(read)],
                tags=["items"])
    def get_item(request: Request, item_id: int) -> schemas.ItemOut:
        live = service.live
        meta = service.item(live, item_id)
        codes = list(meta.get("vienna_codes") or [])
        return schemas.ItemOut(id=item_id, key=meta["key"], name=meta.get("text"), vienna_codes=codes,
                               vienna=vienna_out(vienna_table, codes), nice_classes=meta.get("nice_classes") or [],
                               ocr_text=meta.get("ocr_text"), ocr_confidence=meta.get("ocr_confidence"),
                               year=meta.get("year"), image_url=image_url(request, item_id),
                               index_version=live.version)

    @router.get("/items/{item_id}/image", response_class=FileResponse, responses=ERRORS,
                dependencies=[Depends(read)], tags=["items"])
    def get_item_image(item_id: int) -> FileResponse:
        path = Path(service.item(service.live, item_id)["file"])
        if not path.is_file():
            raise NotFound(f"the image file of item {item_id} is not available on this server", reason="image_missing")
        return FileResponse(path, media_type=MEDIA.get(path.suffix.lower(), "application/octet-stream"),
                            headers={"Cache-Control": "public, max-age=3600"})

    @router.post("/index/items", response_model=schemas.AddedOut, status_code=201, responses=ERRORS,
                 dependencies=[Depends(write)], tags=["index"])
    async def add_item(
        image: Annotated[UploadFile, File(description="the mark's image")],
        name: Annotated[str, Form(max_length=200)] = None,
        vienna_codes: Annotated[str, Form(description="comma-separated, e.g. 27.05.01,26.01.03")] = None,
        year: Annotated[int, Form(ge=0, le=9999)] = None,
        key: Annotated[str, Form(max_length=200, description="your reference for the mark")] = None,
    ) -> schemas.AddedOut:
        """Add one mark to the index (a new index version; the service switches to it)."""
        codes = [c.strip() for c in (vienna_codes or "").split(",") if c.strip()]
        bad = [c for c in codes if not VIENNA_CODE.match(c)]
        if bad:
            raise BadQuery(f"Vienna codes must look like 27.05.01, got {bad}", reason="invalid_vienna_code")
        data = await image.read()
        item_id, version = await off_write(service.add_item, data, _text(name), codes, year, _text(key))
        return schemas.AddedOut(id=item_id, index_version=version)

    @router.delete("/index/items/{item_id}", response_model=schemas.DeletedOut, responses=ERRORS,
                   dependencies=[Depends(write)], tags=["index"])
    async def delete_item(item_id: int) -> schemas.DeletedOut:
        """Delete one mark (a new index version; its id is never reused)."""
        version = await off_write(service.delete_item, item_id)
        return schemas.DeletedOut(id=item_id, index_version=version)

    @router.post("/index/rebuild", response_model=schemas.JobOut, status_code=202, responses=ERRORS,
                 dependencies=[Depends(write)], tags=["index"])
    async def rebuild(response: Response) -> schemas.JobOut:
        """Rebuild the index from its items in the background; the service switches when it completes."""
        await off_write(service.begin_rebuild)
        job = jobs.submit("rebuild", service.rebuild)
        response.headers["Location"] = f"/jobs/{job.id}"
        return job_out(job)

    @router.post("/index/items:batch", response_model=schemas.JobOut, status_code=202, responses=ERRORS,
                 dependencies=[Depends(write)], tags=["index"], openapi_extra=BATCH_FORM)
    async def add_batch(request: Request, response: Response) -> schemas.JobOut:
        """Add many marks as one job making one new index version: ``images`` (files) and an optional
        ``metadata`` JSONL, one L3D line per image naming it by its upload file name."""
        api = settings.api
        async with request.form(max_files=api.max_batch_files, max_fields=api.max_batch_files + 16) as form:
            images = [f for f in form.getlist("images") if isinstance(f, StarletteUpload)]
            metadata = form.get("metadata")
            if not images:
                raise BadQuery("send the images as one or more 'images' file fields", reason="no_images")
            meta = await metadata.read() if isinstance(metadata, StarletteUpload) else (metadata or "").encode()
            staged = await off_write(service.stage_batch, [(f.filename or "", f.file) for f in images], meta)
        job = jobs.submit("bulk_add", service.batch_work(staged.id), params={"items": staged.items}, job_id=staged.id)
        response.headers["Location"] = f"/jobs/{job.id}"
        return job_out(job)

    @router.get("/jobs", response_model=list[schemas.JobOut], responses=ERRORS, dependencies=[Depends(read)],
                tags=["index"])
    def list_jobs(limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[schemas.JobOut]:
        """The newest jobs first (they survive server restarts)."""
        return [job_out(job) for job in jobs.list(limit)]

    @router.get("/jobs/{job_id}", response_model=schemas.JobOut, responses=ERRORS, dependencies=[Depends(read)],
                tags=["index"])
    def get_job(job_id: str) -> schemas.JobOut:
        job = jobs.get(job_id)
        if job is None:
            raise NotFound(f"no job {job_id!r}", reason="unknown_job")
        return job_out(job)

    @router.delete("/jobs/{job_id}", response_model=schemas.JobOut, status_code=202, responses=ERRORS,
                   dependencies=[Depends(write)], tags=["index"])
    def cancel_job(job_id: str) -> schemas.JobOut:
        """Cancel a pending or running job (a rebuild's process is stopped; the live index stays as it was)."""
        job, applied = jobs.cancel(job_id)
        if job is None:
            raise NotFound(f"no job {job_id!r}", reason="unknown_job")
        if not applied:
            raise WriteConflict(f"job {job_id} has already finished ({job.state})", reason="job_finished")
        return job_out(job)

    return router


def job_out(job) -> schemas.JobOut:
    return schemas.JobOut(**{f: getattr(job, f) for f in schemas.JobOut.model_fields})
