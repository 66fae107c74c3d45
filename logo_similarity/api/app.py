"""The FastAPI application: ``create_app(settings)``; ``logo-sim serve`` runs it under uvicorn.

Every error is a JSON ``{"detail": ..., "reason": ...}`` with a 4xx (or 503 with Retry-After): bad images,
bad parameters, unknown ids, oversized or malformed bodies, missing keys. CPU work (decoding, embedding,
searching, index writes) runs on thread pools, never on the event loop.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from loguru import logger
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from logo_similarity import __version__
from logo_similarity.api.deps import Workers, key_checker
from logo_similarity.api.keys import ADMIN, KeyStore
from logo_similarity.api.errors import ServiceError, WriteConflict, error_response
from logo_similarity.api.jobs import JobManager
from logo_similarity.api.limits import Admission, RequestGuard, RoutePolicy
from logo_similarity.api.metrics import Metrics
from logo_similarity.api.routes import catalog, index_writes, items
from logo_similarity.api.routes import watches as watch_routes
from logo_similarity.api.routes import search as search_routes
from logo_similarity.api.routes import jobs as job_routes
from logo_similarity.api.routes import service as service_routes
from logo_similarity.api.routes.service import STATIC
from logo_similarity.api.security import check_key_config
from logo_similarity.api.service import SearchService
from logo_similarity.api.watches import RUN_KIND, WatchService
from logo_similarity.classification import load_vienna
from logo_similarity.config import ApiSettings, SearchSettings, Settings
from logo_similarity.preprocessing import ImageLoadError
REASONS = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large",
           415: "unsupported_media_type", 422: "invalid_parameter"}


class _Measured:
    """Counts requests and their latency per route template (``/items/{item_id}``, not each id)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - start)


def create_app(settings: Settings, service: SearchService | None = None, index_dir: str | Path | None = None,
               model: str | None = None) -> FastAPI:
    """The app over the index at ``index_dir`` (default: settings ``index.dir``), or over a ready ``service``."""
    api = settings.api
    check_key_config(api)
    service = service or SearchService(settings, index_dir or settings.index.dir, model)
    jobs = JobManager(Path(service.root) / "jobs.sqlite", nice=api.job_nice, timeout_s=api.job_timeout_s)
    workers = Workers(ThreadPoolExecutor(api.search_threads, thread_name_prefix="logo-sim-search"),
                      # writes wait for each other (and for other processes' writes): own threads and admission
                      ThreadPoolExecutor(api.write_threads, thread_name_prefix="logo-sim-write"))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # load in the background (/health answers at once, /ready when loaded), then resume interrupted jobs
        threading.Thread(target=_load_and_recover, args=(service, jobs, app.state.watches), daemon=True,
                         name="logo-sim-load").start()
        yield
        jobs.shutdown()
        workers.search.shutdown(wait=False, cancel_futures=True)
        workers.write.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="logo-similarity", version=__version__, lifespan=lifespan,
                  description="Search engine for trademark logos: look-alike and sound-alike marks, ranked and explained.")
    metrics = Metrics()
    admission = Admission(api.max_in_flight, api.retry_after_s, on_busy=metrics.busy.inc)
    write_admission = Admission(api.max_writes_in_flight, api.retry_after_s, "writes", on_busy=metrics.busy.inc)
    metrics.in_flight.set_function(lambda: admission.in_flight)
    metrics.swaps.set_function(lambda: service.swaps)
    metrics.items.set_function(lambda: len(service.live.index) if service.ready else 0)
    app.state.service, app.state.jobs, app.state.metrics, app.state.workers = service, jobs, metrics, workers
    app.state.admission, app.state.write_admission = admission, write_admission
    app.state.watches = WatchService(settings, service, jobs)
    app.state.vienna = load_vienna(settings.classification.vienna_file)
    _include_routes(app, api, settings.search)
    _add_error_handlers(app, api.retry_after_s)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(RequestGuard, policy=_request_policy(api, admission, write_admission))
    app.add_middleware(_Measured, metrics=metrics)
    return app


def _include_routes(app: FastAPI, api: ApiSettings, search: SearchSettings) -> None:
    """Every resource's routes, each router behind the key check its access needs: writes always need the service's
    key, reads a key (the service's, or a client's: ``api/keys.py``) when ``api.read_requires_key``; the probes
    and /metrics never."""
    keys = KeyStore(api.keys_file)
    read = Depends(key_checker(api, api.read_requires_key, keys, "search"))
    write = Depends(key_checker(api, True, keys, ADMIN))
    for router, key in ((search_routes.router(search), read), (items.router, read), (index_writes.router, write),
                        (job_routes.reads, read), (job_routes.writes, write), (catalog.router, read),
                        (service_routes.probes, None), (service_routes.statistics, read),
                        (service_routes.exposition, None),
                        (watch_routes.router(api.max_batch_files), Depends(key_checker(api, True, keys, "watch")))):
        app.include_router(router, dependencies=[key] if key is not None else None)


def _add_error_handlers(app: FastAPI, retry_after_s: int) -> None:
    """Every error as ``{"detail", "reason"}`` with its status; a 500 says only that it was logged."""

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> JSONResponse:
        headers = {"Retry-After": str(retry_after_s)} if exc.status in (409, 503) else None
        return error_response(exc.status, exc.reason, str(exc), headers)

    @app.exception_handler(ImageLoadError)
    async def image_error(request: Request, exc: ImageLoadError) -> JSONResponse:
        message = str(exc).replace("<bytes>: ", "the uploaded image: ")
        return error_response(415 if exc.reason == "unsupported_format" else 422, exc.reason, message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # the submitted values are left out: they can be bytes of an upload, and echoing them helps no one
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()]
        return error_response(422, "invalid_parameter", errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, REASONS.get(exc.status_code, "http_error"), exc.detail, exc.headers)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        logger.opt(exception=exc).error("unhandled error on {} {}", request.method, request.url.path)
        return error_response(500, "internal", "internal error; it has been logged")


def _request_policy(api: ApiSettings, admission: Admission, write_admission: Admission):
    """Body limit, form check and admission gate per request, decided before the body is read (RequestGuard)."""
    upload, batch = int(api.max_upload_mb * 1024**2), int(api.max_batch_mb * 1024**2)

    def policy(method: str, path: str) -> RoutePolicy:
        if method == "POST" and (path == "/search" or path.startswith("/search/by-id/")):
            return RoutePolicy(upload, form=path == "/search", gate=admission)
        if method == "POST" and path == "/index/items:batch":
            return RoutePolicy(batch, form=True, gate=write_admission)
        if method == "POST" and (path == "/watches" or (path.startswith("/watches/") and path.endswith("/runs"))):
            return RoutePolicy(batch, form=True, gate=write_admission)
        if (method == "POST" and path in ("/index/items", "/index/rebuild")) or (
                method == "DELETE" and path.startswith("/index/items/")):
            return RoutePolicy(upload, form=path == "/index/items", gate=write_admission)
        return RoutePolicy(upload)

    return policy


def _load_and_recover(service: SearchService, jobs: JobManager, watches: WatchService) -> None:
    if not service.ready:
        try:
            service.load()
        except Exception:  # already recorded in service.load_error and logged; /ready reports it
            return
    jobs.recover({"rebuild": lambda job: _claim_rebuild(service), "bulk_add": lambda job: service.batch_work(job.id),
                  RUN_KIND: watches.resume})


def _claim_rebuild(service: SearchService):
    """A rebuild a restart interrupted runs again (its embedding cache makes it redo only what is missing)."""
    try:
        service.begin_rebuild()
    except WriteConflict:
        return None
    return service.rebuild
