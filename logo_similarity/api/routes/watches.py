"""Watch lists: ``/watches`` (create, list, show, delete), their runs (jobs over uploaded filings or over what the
served index gained since a version), and their alerts (read, triage). A client key with role ``watch`` sees and
changes its own lists only; another client's list, run, job or alert is "not found" (404), never forbidden, so
nothing is learnt of it. The admin key sees all."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile as StarletteUpload

from logo_similarity.api import schemas
from logo_similarity.api.deps import Caller, Pools
from logo_similarity.api.errors import BadQuery
from logo_similarity.api.routes.jobs import job_out
from logo_similarity.api.watches import WatchService
from logo_similarity.retrieval.filters import VIENNA_PREFIX
from logo_similarity.watch.exceptions import ExceptionRules
from logo_similarity.watch.store import Watch

_FILES = {"type": "array", "items": {"type": "string", "format": "binary"}}
_METADATA = {"type": "string", "format": "binary",
             "description": 'JSON lines, one per image: {"file": "<upload name>", "text": "BRAND", "id": "your key", '
                            '"vienna_codes": ["27.05.01"], "nice_classes": [9], "owner": "...", "published": '
                            '"2026-11-20", "office": "EM"}'}
CREATE_FORM = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["name"],
    "properties": {
        "name": {"type": "string", "maxLength": 200, "description": "unique among the client's lists"},
        "images": {**_FILES, "description": "the watched marks' images"},
        "metadata": _METADATA,
        "ids": {"type": "string", "description": "ids of marks of the served index to watch, comma-separated"},
        "min_score": {"type": "number", "description": "fused score an alert needs (default: settings)"},
        "min_conflict": {"type": "number", "minimum": 0, "maximum": 1,
                         "description": "calibrated conflict probability an alert needs (default: settings)"},
        "own_marks": {"type": "boolean", "description": "suppress filings by the watched mark's own applicant "
                                                        "(default true)"},
        "exclude_owner": {"type": "string", "description": "applicants (names or ids) to suppress, comma-separated"},
        "exclude_vienna": {"type": "string", "description": "Vienna prefixes to suppress, comma-separated"},
    }}}}}}
RUN_FORM = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object",
    "properties": {
        "images": {**_FILES, "description": "the new filings' images"},
        "metadata": _METADATA,
        "since": {"type": "string", "description": "instead of images: the marks the served index gained since this "
                                                   "version (empty: all of its marks)"},
    }}}}}}


RowId = Annotated[int, Path(ge=0, le=2**63 - 1, description="an id (SQLite row)")]


def watches(request: Request) -> WatchService:
    return request.app.state.watches


def watch_out(service: WatchService, watch: Watch) -> schemas.WatchOut:
    runs = service.store.runs(watch)
    return schemas.WatchOut(id=watch.id, name=watch.name, client=watch.client, created=watch.created,
                            min_score=watch.min_score, min_conflict=watch.min_conflict, marks=watch.marks, exceptions=json.loads(watch.rules), runs=len(runs),
                            last_run=schemas.RunOut(**runs[-1]) if runs else None)


def _csv(value: Any) -> list[str]:
    return [v.strip() for v in str(value or "").split(",") if v.strip()]


def _bool(value: Any, name: str, default: bool) -> bool:
    if value is None or value == "":
        return default
    if str(value).lower() in ("true", "1", "yes", "on"):
        return True
    if str(value).lower() in ("false", "0", "no", "off"):
        return False
    raise BadQuery(f"{name} must be true or false, got {value!r}", reason="invalid_parameter")


async def _files(form) -> tuple[list[tuple[str, Any]], bytes]:
    images = [f for f in form.getlist("images") if isinstance(f, StarletteUpload)]
    metadata = form.get("metadata")
    meta = await metadata.read() if isinstance(metadata, StarletteUpload) else (metadata or "").encode()
    return [(f.filename or "", f.file) for f in images], meta


def router(api_max_files: int) -> APIRouter:
    routes = APIRouter(tags=["watch"], responses=schemas.ERRORS)

    @routes.post("/watches", response_model=schemas.WatchOut, status_code=201, openapi_extra=CREATE_FORM)
    async def create(request: Request, who: Caller, pools: Pools, response: Response) -> schemas.WatchOut:
        """A new watch list of uploaded images and/or marks of the served index, with its exception rules."""
        service = watches(request)
        async with request.form(max_files=api_max_files, max_fields=api_max_files + 16) as form:
            name = str(form.get("name") or "").strip()
            if not name or len(name) > 200:
                raise BadQuery("give the list a 'name' (1-200 characters)", reason="invalid_name")
            ids = _csv(form.get("ids"))
            if not all(i.isdigit() for i in ids):
                raise BadQuery(f"ids must be item ids (numbers), got {ids[:5]}", reason="invalid_ids")
            try:
                min_score = float(form["min_score"]) if form.get("min_score") not in (None, "") else None
            except ValueError:
                min_score = math.nan
            if min_score is not None and not math.isfinite(min_score):
                raise BadQuery("min_score must be a number", reason="invalid_parameter")
            try:
                min_conflict = float(form["min_conflict"]) if form.get("min_conflict") not in (None, "") else None
            except ValueError:
                min_conflict = math.nan
            if min_conflict is not None and not 0 <= min_conflict <= 1:
                raise BadQuery("min_conflict must be a probability (0 to 1)", reason="invalid_parameter")
            vienna = _csv(form.get("exclude_vienna"))
            bad = [p for p in vienna if not VIENNA_PREFIX.match(p)]
            if bad:
                raise BadQuery(f"{bad[0]!r} is not a Vienna prefix like 27 or 27.05", reason="invalid_vienna_code")
            rules = ExceptionRules(_bool(form.get("own_marks"), "own_marks", True),
                                   tuple(_csv(form.get("exclude_owner"))), tuple(vienna))
            files, meta = await _files(form)
            watch = await pools.run_write(service.create, who, name, files, meta, [int(i) for i in ids], min_score,
                                          rules, min_conflict)
        response.headers["Location"] = f"/watches/{watch.id}"
        return watch_out(service, watch)

    @routes.get("/watches", response_model=list[schemas.WatchOut])
    def list_watches(request: Request, who: Caller) -> list[schemas.WatchOut]:
        """The caller's watch lists (the admin's: every client's)."""
        service = watches(request)
        return [watch_out(service, w) for w in service.store.watches(None if who.admin else who.name)]

    @routes.get("/watches/{watch_id}", response_model=schemas.WatchOut)
    def get_watch(request: Request, who: Caller, watch_id: RowId) -> schemas.WatchOut:
        service = watches(request)
        return watch_out(service, service.get(who, watch_id))

    @routes.delete("/watches/{watch_id}", response_model=schemas.WatchOut)
    async def delete_watch(request: Request, who: Caller, pools: Pools, watch_id: RowId) -> schemas.WatchOut:
        """Delete a list, its runs and alerts, and the images uploaded for it."""
        service = watches(request)
        watch = service.get(who, watch_id)
        out = watch_out(service, watch)
        await pools.run_write(service.delete, who, watch_id)
        return out

    @routes.post("/watches/{watch_id}/runs", response_model=schemas.JobOut, status_code=202, openapi_extra=RUN_FORM)
    async def start_run(request: Request, who: Caller, pools: Pools, response: Response,
                        watch_id: RowId) -> schemas.JobOut:
        """Compare new filings with the list's marks, as a job (``GET /jobs/{id}``): uploaded images, or the
        marks the served index gained since a version. Resumable, incremental (a filing compared before with the
        same marks is not compared again)."""
        service = watches(request)
        async with request.form(max_files=api_max_files, max_fields=api_max_files + 16) as form:
            since_given = "since" in form
            since = str(form.get("since") or "").strip() or None
            files, meta = await _files(form)
            job = await pools.run_write(service.start_run, who, watch_id, files, meta, since, since_given)
        response.headers["Location"] = f"/jobs/{job.id}"
        return job_out(job)

    @routes.get("/watches/{watch_id}/runs", response_model=list[schemas.RunOut])
    def list_runs(request: Request, who: Caller, watch_id: RowId) -> list[schemas.RunOut]:
        return [schemas.RunOut(**r) for r in watches(request).runs(who, watch_id)]

    @routes.get("/watches/{watch_id}/runs/{run_id}", response_model=schemas.RunOut)
    def get_run(request: Request, who: Caller, watch_id: RowId, run_id: RowId) -> schemas.RunOut:
        """One run, with the filings it skipped and why."""
        return schemas.RunOut(**watches(request).run(who, watch_id, run_id))

    @routes.delete("/watches/{watch_id}/jobs/{job_id}", response_model=schemas.JobOut, status_code=202)
    def cancel_run(request: Request, who: Caller, watch_id: RowId, job_id: str) -> schemas.JobOut:
        """Cancel a pending or running run (what it compared is kept; the next run goes on from there)."""
        return job_out(watches(request).cancel(who, watch_id, job_id))

    @routes.get("/watches/{watch_id}/alerts", response_model=list[schemas.AlertOut])
    def list_alerts(request: Request, response: Response, who: Caller, watch_id: RowId,
                    state: Annotated[list[str], Query(description="only these states (default: all but "
                                                                  "suppressed)")] = None,
                    limit: Annotated[int, Query(ge=1, le=1000, description="alerts in this page")] = 200,
                    offset: Annotated[int, Query(ge=0, le=2**63 - 1, description="alerts skipped before it")] = 0,
                    ) -> list[schemas.AlertOut]:
        """The list's alerts, best score first, a page at a time (a run can leave hundreds of thousands); the
        header ``X-Total-Count`` says how many there are in these states."""
        alerts, total = watches(request).alerts(who, watch_id, state, limit, offset)
        response.headers["X-Total-Count"] = str(total)
        return [schemas.AlertOut(**a) for a in alerts]

    @routes.patch("/watches/{watch_id}/alerts/{alert_id}", response_model=schemas.AlertOut)
    def triage(request: Request, who: Caller, watch_id: RowId, alert_id: RowId,
               change: schemas.TriageIn) -> schemas.AlertOut:
        """Set an alert's state (kept across runs: a dismissed pair comes back only when its score rises)."""
        return schemas.AlertOut(**watches(request).triage(who, watch_id, alert_id, change.state))

    @routes.get("/watches/{watch_id}/report", responses={200: {"content": {"text/html": {}, "text/csv": {},
                                                                            "application/json": {}}}})
    async def report(request: Request, who: Caller, pools: Pools, watch_id: RowId,
                     format: Annotated[Literal["html", "csv", "json"], Query(description="html (printable), csv, "
                                                                                         "json")] = "html",
                     run: Annotated[int, Query(ge=0, le=2**63 - 1, description="only the alerts this run found")] = None) -> Response:
        """The list's report: alerts by tier, then opposition deadline, then conflict score, with provenance."""
        service = watches(request)
        path = await pools.run_search(service.report, who, watch_id, run, format)
        media = {"html": "text/html; charset=utf-8", "csv": "text/csv; charset=utf-8", "json": "application/json"}
        return FileResponse(path, media_type=media[format], background=BackgroundTask(service.report_sent, path),
                            headers={"Content-Disposition": f"inline; filename=watch-{watch_id}-report.{format}"})

    return routes
