"""``POST /search`` and ``POST /search/by-id/{id}``: the one query path (search/query.py) over the live index."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile

from logo_similarity.api import schemas
from logo_similarity.api.deps import (
    BOX,
    NICE_HELP,
    AppMetrics,
    KParam,
    NiceParam,
    Pools,
    QueryClasses,
    QueryCodes,
    Service,
    ViennaParam,
    ViennaTable,
    YearParam,
    item_filter,
    optional_text,
    parse_box,
)
from logo_similarity.api.errors import BadQuery
from logo_similarity.api.metrics import Metrics
from logo_similarity.api.routes.catalog import vienna_out
from logo_similarity.api.routes.items import image_url
from logo_similarity.api.service import LiveIndex
from logo_similarity.classification import ViennaClassification
from logo_similarity.config import SearchSettings
from logo_similarity.preprocessing.loader import ImageLoadError
from logo_similarity.retrieval.filters import VIENNA_PREFIX
from logo_similarity.retrieval.results import SearchResult
from logo_similarity.search import QueryOutcome


MAX_BATCH_QUERIES = 64  # images per POST /search:batch: one embedding batch, one answer of bounded size


def result_out(request: Request, table: ViennaClassification, r: SearchResult) -> schemas.ResultOut:
    return schemas.ResultOut(
        rank=r.rank, id=r.id, score=r.score, conflict_score=r.conflict_score, tier=r.tier,
        components=schemas.ComponentScores(**r.components),
        explanation=schemas.Explanation(**r.explanation), name=r.text,
        key=r.key, vienna_codes=r.vienna_codes, vienna=vienna_out(table, r.vienna_codes),
        nice_classes=r.nice_classes, year=r.year, image_url=image_url(request, r.id),
    )


def search_out(request: Request, table: ViennaClassification, metrics: Metrics, live: LiveIndex, outcome: QueryOutcome,
               k: int) -> schemas.SearchOut:
    for stage, ms in outcome.timings_ms.items():
        metrics.stage.labels(stage).observe(ms / 1000.0)
    return schemas.SearchOut(
        results=[result_out(request, table, r) for r in outcome.results], k=k, reranked=outcome.reranked,
        candidates=outcome.candidates, index_version=live.version, query_text=outcome.query_text,
        query_text_source=outcome.query_text_source,
        timings_ms={s: round(ms, 3) for s, ms in outcome.timings_ms.items()},
    )


def router(search: SearchSettings) -> APIRouter:
    """The search routes; made per app because their documented default ``k`` is the configured one."""
    routes = APIRouter(tags=["search"], responses=schemas.ERRORS)
    default_k = search.k

    @routes.post("/search", response_model=schemas.SearchOut)
    async def search(
        request: Request, service: Service, pools: Pools, table: ViennaTable, metrics: AppMetrics,
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
        query_codes: QueryCodes = (),  # the form's ``codes``
        query_classes: QueryClasses = (),  # the form's ``classes``
    ) -> schemas.SearchOut:
        """Marks that look like the image and/or sound like the name, ranked, with every component score."""
        start = time.perf_counter()
        data = await image.read() if image is not None else None
        if image is not None and not data and not image.filename:
            data = None  # an empty file input of a browser form: no image given
        read_ms = (time.perf_counter() - start) * 1000.0
        text, crop, filters = optional_text(text), parse_box(box), item_filter(vienna, year_from, year_to, nice)
        do_rerank = service.settings.search.rerank if rerank is None else rerank

        def work() -> tuple[LiveIndex, QueryOutcome]:
            live = service.live  # read here, after the upload: the version this search uses to its end
            t0 = time.perf_counter()
            query = service.decode(data, crop) if data is not None else None
            decode_ms = (time.perf_counter() - t0) * 1000.0
            outcome = service.search(live, query, text, k, filters, do_rerank, vienna_codes=query_codes,
                                     nice_classes=query_classes)
            outcome.timings_ms = {"read": read_ms, "decode": decode_ms, **outcome.timings_ms}
            return live, outcome

        live, outcome = await pools.run_search(work)
        outcome.timings_ms["total"] = (time.perf_counter() - start) * 1000.0
        return search_out(request, table, metrics, live, outcome, k)

    @routes.post("/search:batch", response_model=schemas.BatchSearchOut)
    async def search_batch(
        request: Request, service: Service, pools: Pools, table: ViennaTable, metrics: AppMetrics,
        images: Annotated[list[UploadFile], File(description=f"query logos, at most {MAX_BATCH_QUERIES}")],
        k: Annotated[int, Form(ge=1, le=1000)] = default_k,
        vienna: Annotated[str, Form(pattern=VIENNA_PREFIX.pattern, description="Vienna code prefix, e.g. 27.05")] = None,
        year_from: Annotated[int, Form(ge=0, le=9999)] = None,
        year_to: Annotated[int, Form(ge=0, le=9999)] = None,
        nice: Annotated[str, Form(max_length=200, description=NICE_HELP)] = None,
        rerank: Annotated[bool, Form(description="order by the composite score")] = None,
    ) -> schemas.BatchSearchOut:
        """Many query logos in one request, embedded together: each gets what ``POST /search`` would give it
        (same filters and k for all); an image that cannot be read gets its own error, the others their results."""
        start = time.perf_counter()
        if len(images) > MAX_BATCH_QUERIES:
            raise BadQuery(f"at most {MAX_BATCH_QUERIES} images per batch, got {len(images)}", reason="too_many_images")
        uploads = [(f.filename, await f.read()) for f in images]
        filters = item_filter(vienna, year_from, year_to, nice)
        do_rerank = service.settings.search.rerank if rerank is None else rerank

        def work() -> tuple[LiveIndex, list[tuple[int, QueryOutcome]], dict[int, schemas.ErrorOut]]:
            live = service.live
            decoded, errors = [], {}
            for position, (_, data) in enumerate(uploads):
                try:
                    decoded.append((position, service.decode(data, None)))
                except ImageLoadError as exc:
                    errors[position] = schemas.ErrorOut(reason=exc.reason, detail=str(exc).replace("<bytes>: ", ""))
            outcomes = service.search_batch(live, [image for _, image in decoded], k, filters, do_rerank)
            return live, [*zip([p for p, _ in decoded], outcomes)], errors

        live, found, errors = await pools.run_search(work)
        items = [schemas.BatchItemOut(position=p, filename=uploads[p][0], error=e) for p, e in errors.items()]
        items += [schemas.BatchItemOut(position=p, filename=uploads[p][0],
                                       search=search_out(request, table, metrics, live, outcome, k))
                  for p, outcome in found]
        return schemas.BatchSearchOut(items=sorted(items, key=lambda item: item.position), index_version=live.version,
                                      timings_ms={"total": (time.perf_counter() - start) * 1000.0})

    @routes.post("/search/by-id/{item_id}", response_model=schemas.SearchOut)
    async def search_by_id(
        request: Request, service: Service, pools: Pools, table: ViennaTable, metrics: AppMetrics,
        item_id: int, k: KParam = default_k, vienna: ViennaParam = None,
        year_from: YearParam = None, year_to: YearParam = None, nice: NiceParam = None,
        rerank: Annotated[bool, Query(description="order by the composite score")] = None,
    ) -> schemas.SearchOut:
        """Marks like an indexed item (its stored embedding, and its name)."""
        start = time.perf_counter()
        filters = item_filter(vienna, year_from, year_to, nice)
        do_rerank = service.settings.search.rerank if rerank is None else rerank

        def work() -> tuple[LiveIndex, QueryOutcome]:
            live = service.live
            return live, service.search(live, None, None, k, filters, do_rerank, item_id=item_id)

        live, outcome = await pools.run_search(work)
        outcome.timings_ms["total"] = (time.perf_counter() - start) * 1000.0
        return search_out(request, table, metrics, live, outcome, k)

    return routes
