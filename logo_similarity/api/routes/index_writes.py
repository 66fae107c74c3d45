"""Writes of the index, each a new version the service switches to (the key is needed): add, delete and correct
one mark, add many as a job, rebuild everything as a job."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from starlette.datastructures import UploadFile as StarletteUpload

from logo_similarity.api import schemas
from logo_similarity.api.deps import Jobs, Pools, Service, optional_text, vienna_code_list
from logo_similarity.api.errors import BadQuery
from logo_similarity.api.routes.jobs import job_out

BATCH_FORM = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["images"],
    "properties": {
        "images": {"type": "array", "items": {"type": "string", "format": "binary"},
                   "description": "the marks' images (file names unique within the batch)"},
        "metadata": {"type": "string", "format": "binary",
                     "description": 'JSON lines, one per image: {"file": "<upload name>", "text": "BRAND", '
                                    '"vienna_codes": ["27.05.01"], "year": 2016, "id": "your key"}'},
    }}}}}}

router = APIRouter(tags=["index"], responses=schemas.ERRORS)


@router.post("/index/items", response_model=schemas.AddedOut, status_code=201)
async def add_item(
    service: Service, pools: Pools,
    image: Annotated[UploadFile, File(description="the mark's image")],
    name: Annotated[str, Form(max_length=200)] = None,
    vienna_codes: Annotated[str, Form(description="comma-separated, e.g. 27.05.01,26.01.03")] = None,
    year: Annotated[int, Form(ge=0, le=9999)] = None,
    key: Annotated[str, Form(max_length=200, description="your reference for the mark")] = None,
) -> schemas.AddedOut:
    """Add one mark to the index (a new index version; the service switches to it)."""
    codes = vienna_code_list(vienna_codes)
    data = await image.read()
    item_id, version = await pools.run_write(service.add_item, data, optional_text(name), codes, year,
                                             optional_text(key))
    return schemas.AddedOut(id=item_id, index_version=version)


@router.delete("/index/items/{item_id}", response_model=schemas.DeletedOut)
async def delete_item(service: Service, pools: Pools, item_id: int) -> schemas.DeletedOut:
    """Delete one mark (a new index version; its id is never reused)."""
    version = await pools.run_write(service.delete_item, item_id)
    return schemas.DeletedOut(id=item_id, index_version=version)


@router.post("/index/rebuild", response_model=schemas.JobOut, status_code=202)
async def rebuild(service: Service, pools: Pools, jobs: Jobs, response: Response) -> schemas.JobOut:
    """Rebuild the index from its items in the background; the service switches when it completes."""
    await pools.run_write(service.begin_rebuild)
    job = jobs.submit("rebuild", service.rebuild)
    response.headers["Location"] = f"/jobs/{job.id}"
    return job_out(job)


@router.post("/index/items:batch", response_model=schemas.JobOut, status_code=202, openapi_extra=BATCH_FORM)
async def add_batch(service: Service, pools: Pools, jobs: Jobs, request: Request, response: Response) -> schemas.JobOut:
    """Add many marks as one job making one new index version: ``images`` (files) and an optional
    ``metadata`` JSONL, one L3D line per image naming it by its upload file name."""
    api = service.settings.api
    async with request.form(max_files=api.max_batch_files, max_fields=api.max_batch_files + 16) as form:
        images = [f for f in form.getlist("images") if isinstance(f, StarletteUpload)]
        metadata = form.get("metadata")
        if not images:
            raise BadQuery("send the images as one or more 'images' file fields", reason="no_images")
        meta = await metadata.read() if isinstance(metadata, StarletteUpload) else (metadata or "").encode()
        staged = await pools.run_write(service.stage_batch, [(f.filename or "", f.file) for f in images], meta)
    job = jobs.submit("bulk_add", service.batch_work(staged.id), params={"items": staged.items}, job_id=staged.id)
    response.headers["Location"] = f"/jobs/{job.id}"
    return job_out(job)


@router.patch("/index/items/{item_id}", response_model=schemas.EditedOut)
async def edit_item(service: Service, pools: Pools, item_id: int, edit: schemas.ItemEdit) -> schemas.EditedOut:
    """Correct a mark's name, Vienna codes, Nice classes or year without re-embedding it: only the fields
    sent change, as a new index version."""
    change = edit.model_dump(exclude_unset=True)
    if not change:
        raise BadQuery("name at least one of name, vienna_codes, nice_classes, year", reason="invalid_edit")
    changed, version = await pools.run_write(service.edit_item, item_id, change)
    return schemas.EditedOut(id=item_id, changed=changed, index_version=version)
