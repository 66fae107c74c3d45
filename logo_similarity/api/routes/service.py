"""The service itself: liveness, readiness, statistics, Prometheus metrics, and the search page."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from logo_similarity.api import schemas
from logo_similarity.api.deps import AppMetrics, Service

STATIC = Path(str(resources.files("logo_similarity.api") / "static"))

probes = APIRouter(tags=["service"])  # /health, /ready: open whatever the key settings (orchestrators call them)
statistics = APIRouter(tags=["service"])  # /stats: behind the read key check, like searches
exposition = APIRouter(tags=["service"])  # /metrics (scraped by Prometheus) and the search page


@probes.get("/health", response_model=schemas.HealthOut)
def health() -> schemas.HealthOut:
    """Liveness: the process answers."""
    return schemas.HealthOut()


@probes.get("/ready", response_model=schemas.ReadyOut, responses={503: {"model": schemas.ReadyOut}})
def ready(service: Service) -> Response:
    """Readiness: an index is loaded and searches can be served."""
    if service.ready:
        return JSONResponse(schemas.ReadyOut(ready=True, index_version=service.live.version,
                                             warning=service.warning).model_dump())
    return JSONResponse(schemas.ReadyOut(ready=False, error=service.load_error).model_dump(), status_code=503,
                        headers={"Retry-After": str(service.settings.api.retry_after_s)})


@statistics.get("/stats", response_model=schemas.StatsOut)
def stats(request: Request, service: Service) -> schemas.StatsOut:
    live = service.live
    index, spec = live.index, live.index.spec.to_dict()
    preprocessing = {k: spec.get(k) for k in ("input_size", "color_mode", "background", "text_mask", "mean", "std")}
    return schemas.StatsOut(
        items=len(index), index_version=live.version, index_type=index.factory,
        search_params=index.search_params, pca_dim=index.projection.dim if index.projection else None,
        model=spec, preprocessing=preprocessing, swaps=service.swaps,
        searches_in_flight=request.app.state.admission.in_flight,
    )


@exposition.get("/metrics", response_class=Response,
                    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}})
def prometheus(metrics: AppMetrics) -> Response:
    return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")


@exposition.get("/", include_in_schema=False)
def page() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html")
