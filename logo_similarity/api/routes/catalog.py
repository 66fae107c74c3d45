"""``GET /vienna/{code}``: the classifications behind a mark's codes (titles and the titles above them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from logo_similarity.api import schemas
from logo_similarity.api.deps import ViennaTable
from logo_similarity.api.errors import BadQuery, NotFound
from logo_similarity.classification import ViennaClassification, canonical

router = APIRouter(tags=["classifications"], responses=schemas.ERRORS)


def vienna_out(table: ViennaClassification, codes) -> list[schemas.ViennaCodeOut]:
    """Each code with its title and the titles above it (None where the table does not know it)."""
    out = []
    for code in codes or ():
        try:
            path = table.path(code)
        except ValueError:
            path = []
        out.append(schemas.ViennaCodeOut(code=code, title=path[-1].title if path else None,
                                         path=[e.title for e in path]))
    return out


@router.get("/vienna/{code}", response_model=schemas.ViennaCodeOut)
def vienna_code(table: ViennaTable, code: Annotated[str, Path(max_length=20, description="e.g. 26, 26.01 or 26.1.1")]
                ) -> schemas.ViennaCodeOut:
    """A Vienna code's title and the titles above it."""
    try:
        code = canonical(code)
    except ValueError as exc:
        raise BadQuery(str(exc), reason="invalid_vienna_code") from exc
    if not table.path(code):
        raise NotFound(f"the Vienna classification has no category {code.split('.')[0]}", reason="unknown_code")
    return vienna_out(table, [code])[0]
