"""``GET /items/{id}`` and ``GET /items/{id}/image``: an indexed mark's recorded fields and its image."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from logo_similarity.api import schemas
from logo_similarity.api.deps import Live, Service, ViennaTable
from logo_similarity.api.errors import NotFound
from logo_similarity.api.routes.catalog import vienna_out

MEDIA = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
         ".webp": "image/webp", ".bmp": "image/bmp", ".tif": "image/tiff", ".tiff": "image/tiff"}

router = APIRouter(tags=["items"], responses=schemas.ERRORS)


def image_url(request: Request, item_id: int) -> str:
    return f"{request.scope.get('root_path', '')}/items/{item_id}/image"


@router.get("/items/{item_id}", response_model=schemas.ItemOut)
def get_item(request: Request, service: Service, live: Live, table: ViennaTable, item_id: int) -> schemas.ItemOut:
    meta = service.item(live, item_id)
    codes = list(meta.get("vienna_codes") or [])
    return schemas.ItemOut(id=item_id, key=meta["key"], name=meta.get("text"), vienna_codes=codes,
                           vienna=vienna_out(table, codes), nice_classes=meta.get("nice_classes") or [],
                           ocr_text=meta.get("ocr_text"), ocr_confidence=meta.get("ocr_confidence"),
                           year=meta.get("year"), image_url=image_url(request, item_id),
                           index_version=live.version)


@router.get("/items/{item_id}/image", response_class=FileResponse)
def get_item_image(service: Service, live: Live, item_id: int) -> FileResponse:
    path = Path(service.item(live, item_id)["file"])
    if not path.is_file():
        raise NotFound(f"the image file of item {item_id} is not available on this server", reason="image_missing")
    return FileResponse(path, media_type=MEDIA.get(path.suffix.lower(), "application/octet-stream"),
                        headers={"Cache-Control": "public, max-age=3600"})
