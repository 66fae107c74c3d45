"""What the routes share, as FastAPI ``Annotated`` dependencies: the service and the live index it holds, the jobs,
the metrics, the work pools, the Vienna table; and the parsing of values that requests carry as strings.

Everything here is per app (``create_app`` puts it on ``app.state``), never module state, so several apps in one
process (tests) stay apart.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Form, Query, Request, Security
from fastapi.security import APIKeyHeader

from logo_similarity.api.errors import BadQuery
from logo_similarity.api.keys import ADMIN, KeyStore, Principal
from logo_similarity.api.security import HEADER, Forbidden, Unauthorized
from logo_similarity.api.jobs import JobManager
from logo_similarity.api.metrics import Metrics
from logo_similarity.api.service import LiveIndex, SearchService
from logo_similarity.classification import ViennaClassification
from logo_similarity.classification.nice import parse_nice
from logo_similarity.classification.vienna import CODE as VIENNA_CODE
from logo_similarity.config import ApiSettings
from logo_similarity.retrieval.filters import VIENNA_PREFIX, ItemFilter

api_key_header = APIKeyHeader(name=HEADER, auto_error=False, description="the service's API key")
BOX = re.compile(r"^\s*\d{1,6}\s*,\s*\d{1,6}\s*,\s*\d{1,6}\s*,\s*\d{1,6}\s*$")
NICE_HELP = "only marks in any of these Nice classes, e.g. 9,42"


@dataclass(frozen=True)
class Workers:
    """The thread pools CPU work runs on, off the event loop: searches, and index writes (their own threads, so
    writers waiting for each other never take a search's place)."""

    search: Executor
    write: Executor

    async def run_search(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.search, fn, *args)

    async def run_write(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.write, fn, *args)


def get_service(request: Request) -> SearchService:
    return request.app.state.service


def get_live(request: Request) -> LiveIndex:
    """The index version this request uses to its end (a swap during the request does not change it)."""
    return get_service(request).live


def get_jobs(request: Request) -> JobManager:
    return request.app.state.jobs


def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


def get_workers(request: Request) -> Workers:
    return request.app.state.workers


def get_vienna_table(request: Request) -> ViennaClassification:
    return request.app.state.vienna


def key_checker(api: ApiSettings, required: bool, keys: KeyStore | None = None, role: str = ADMIN):
    """A dependency that accepts the request when its key may do ``role`` (or when no key is needed), and gives who
    it acts for: the admin (the service's key; any request in dev mode without one) or a client (``keys``)."""
    expected = api.api_key.get_secret_value() if api.api_key else None
    if not required:
        def open_endpoint() -> None:  # no header parameter: the schema shows the endpoint as open
            return None

        return open_endpoint

    def check(request: Request, given: str | None = Security(api_key_header)) -> Principal:
        request.state.principal = principal = _principal(given)  # for the routes that act per client (caller)
        return principal

    def _principal(given: str | None) -> Principal:
        if given and expected is not None and secrets.compare_digest(given.encode(), expected.encode()):
            return Principal(ADMIN, ADMIN)
        client = keys.lookup(given) if given and keys is not None else None
        if client is None:
            if expected is None:  # dev mode without a key (check_key_config allowed it)
                return Principal(ADMIN, ADMIN)
            if not given:
                raise Unauthorized(f"this endpoint needs the API key in the {HEADER} header", reason="missing_api_key")
            raise Unauthorized("the API key is not valid", reason="invalid_api_key")
        if not client.may(role):
            raise Forbidden(f"client {client.name!r} (role {client.role}) may not do this; it needs "
                            f"{'the service key' if role == ADMIN else f'role {role}'}")
        return client

    return check


def caller(request: Request) -> Principal | None:
    """Who the request acts for, as its router's key check found it; None when the route needs no key."""
    return getattr(request.state, "principal", None)


Service = Annotated[SearchService, Depends(get_service)]
Caller = Annotated[Principal | None, Depends(caller)]
Live = Annotated[LiveIndex, Depends(get_live)]
Jobs = Annotated[JobManager, Depends(get_jobs)]
AppMetrics = Annotated[Metrics, Depends(get_metrics)]
Pools = Annotated[Workers, Depends(get_workers)]
ViennaTable = Annotated[ViennaClassification, Depends(get_vienna_table)]

# query-string parameters shared by the routes that take them
KParam = Annotated[int, Query(ge=1, le=1000, description="number of results")]
ViennaParam = Annotated[str, Query(pattern=VIENNA_PREFIX.pattern, description="Vienna code prefix, e.g. 27.05")]
YearParam = Annotated[int, Query(ge=0, le=9999)]
NiceParam = Annotated[str, Query(max_length=200, description=NICE_HELP)]


def item_filter(vienna: str | None, year_from: int | None, year_to: int | None, nice: str | None = None) -> ItemFilter:
    """The filter of a search's Vienna prefix, year range and Nice classes; a 422 ``invalid_filter`` saying why."""
    try:
        return ItemFilter(vienna, year_from, year_to, nice or frozenset())
    except ValueError as exc:
        raise BadQuery(str(exc), reason="invalid_filter") from exc


def vienna_code_list(codes: str | None) -> list[str]:
    """Comma-separated Vienna codes (``27.05.01,26.01.03``); a 422 ``invalid_vienna_code`` naming the bad ones."""
    parts = [c.strip() for c in (codes or "").split(",") if c.strip()]
    bad = [c for c in parts if not VIENNA_CODE.match(c)]
    if bad:
        raise BadQuery(f"Vienna codes must look like 27.05.01, got {bad[:3]}", reason="invalid_vienna_code")
    return parts


def query_vienna_codes(
    codes: Annotated[str, Form(max_length=400, description="the query mark's Vienna codes, comma-separated "
                               "(e.g. 27.05.01,26.01.03): a re-ranking component")] = None,
) -> tuple[str, ...]:
    """The search form's ``codes``, parsed (a dependency: the route gets the codes, or the request a 422)."""
    return tuple(vienna_code_list(codes))


QueryCodes = Annotated[tuple[str, ...], Depends(query_vienna_codes)]


def query_nice_classes(
    classes: Annotated[str, Form(max_length=200, description="the query mark's own Nice classes, comma-separated "
                                 "(e.g. 9,42): a re-ranking component (a shared class, or none, as context)")] = None,
) -> tuple[int, ...]:
    """The search form's ``classes``, parsed; a 422 ``invalid_nice_class`` naming what is not a Nice class."""
    try:
        return tuple(sorted(parse_nice(classes)))
    except ValueError as exc:
        raise BadQuery(str(exc), reason="invalid_nice_class") from exc


QueryClasses = Annotated[tuple[int, ...], Depends(query_nice_classes)]


def parse_box(box: str | None) -> tuple[int, int, int, int] | None:
    """``left,top,right,bottom`` in pixels, or None when not given; a 422 ``invalid_box`` when malformed."""
    if box is None or not box.strip():
        return None
    if not BOX.match(box):
        raise BadQuery(f"box must be 'left,top,right,bottom' in pixels, got {box!r}", reason="invalid_box")
    return tuple(int(v) for v in box.split(","))  # type: ignore[return-value]


def optional_text(text: str | None) -> str | None:
    """A form's text field: stripped, and None when empty."""
    return text.strip() or None if text is not None else None
