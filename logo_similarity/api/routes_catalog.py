"""Routes over the classifications and a mark's recorded fields: Vienna titles, and corrections of an item."""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from logo_similarity.api import schemas
from logo_similarity.api.errors import BadQuery, NotFound
from logo_similarity.api.service import SearchService
from logo_similarity.classification import ViennaClassification, canonical, load_vienna
from logo_similarity.config import Settings


class ItemEdit(BaseModel):
    """The fields to correct; a field left out stays as it is, a null clears it."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, max_length=200, description="the mark's verbal element")
    vienna_codes: list[str] | None = Field(None, max_length=100, description='e.g. ["27.05.01", "26.01.03"]')
    nice_classes: list[int] | None = Field(None, max_length=45, description="goods and services classes, 1-45")
    year: int | None = Field(None, ge=0, le=9999)


class EditedOut(BaseModel):
    id: int
    changed: bool = Field(description="false when every named field already had that value (no new version)")
    index_version: str


def vienna_out(table: ViennaClassification, codes) -> list[schemas.ViennaCodeOut]:
    out = []
    for code in codes or ():
        try:
            path = table.path(code)
        except ValueError:
            path = []
        out.append(schemas.ViennaCodeOut(code=code, title=path[-1].title if path else None,
                                         path=[e.title for e in path]))
    return out


def build_catalog_router(service: SearchService, write_pool: Executor, read, write, settings: Settings) -> APIRouter:
    router = APIRouter()
    table = load_vienna(settings.classification.vienna_file)

    @router.get("/vienna/{code}", response_model=schemas.ViennaCodeOut, responses=schemas.ERRORS,
                dependencies=[Depends(read)], tags=["classifications"])
    def vienna_code(code: Annotated[str, Path(max_length=20, description="e.g. 26, 26.01 or 26.1.1")]
                    ) -> schemas.ViennaCodeOut:
        """A Vienna code's title and the titles above it."""
        try:
            code = canonical(code)
        except ValueError as exc:
            raise BadQuery(str(exc), reason="invalid_vienna_code") from exc
        if not table.path(code):
            raise NotFound(f"the Vienna classification has no category {code.split('.')[0]}", reason="unknown_code")
        return vienna_out(table, [code])[0]

    @router.patch("/index/items/{item_id}", response_model=EditedOut, responses=schemas.ERRORS,
                  dependencies=[Depends(write)], tags=["index"])
    async def edit_item(item_id: int, edit: ItemEdit) -> EditedOut:
        """Correct a mark's name, Vienna codes, Nice classes or year without re-embedding it: only the fields
        sent change, as a new index version."""
        change = edit.model_dump(exclude_unset=True)
        if not change:
            raise BadQuery("name at least one of name, vienna_codes, nice_classes, year", reason="invalid_edit")
        changed, version = await asyncio.get_running_loop().run_in_executor(
            write_pool, service.edit_item, item_id, change)
        return EditedOut(id=item_id, changed=changed, index_version=version)

    return router
