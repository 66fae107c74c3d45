"""Images uploaded through the API, stored under ``ROOT/uploads/<sha256><suffix>``.

An upload is kept while any kept index version refers to it (so rolling back to the previous version still
finds its images) and removed once none does: when its add was rejected, or when its item was deleted and the
versions that held it were pruned. Only files named as this module names them are ever removed. Callers hold
the index's write lock, so no other writer is between storing an upload and saving the version using it.
"""

from __future__ import annotations

import hashlib
import io
import re
import sqlite3
from pathlib import Path

from loguru import logger
from PIL import Image

from logo_similarity.utils.fs import atomic_write

UPLOAD_NAME = re.compile(r"^[0-9a-f]{64}\.(png|jpg|gif|webp|tif|bmp|img)$")


SUFFIX = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "WEBP": ".webp", "TIFF": ".tif", "BMP": ".bmp"}


def store_upload(root: Path, data: bytes) -> Path:
    """The uploaded bytes under their content hash, with the suffix of their actual format (.img if unknown)."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            suffix = SUFFIX.get(probe.format or "", ".img")
    except (OSError, ValueError, Image.DecompressionBombError):  # not an image: embedding will reject it
        suffix = ".img"
    path = (root / "uploads" / f"{hashlib.sha256(data).hexdigest()}{suffix}").resolve()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, data)
    return path


def referenced_files(root: Path) -> set[str]:
    """Every image file named by an item of any version under ``root/versions``."""
    files: set[str] = set()
    for metadata in (root / "versions").glob("*/metadata.sqlite"):
        db = sqlite3.connect(f"file:{metadata}?mode=ro", uri=True)
        try:
            files.update(row[0] for row in db.execute("SELECT file FROM items"))
        finally:
            db.close()
    return files


def prune_uploads(root: Path) -> list[Path]:
    """Remove uploads no kept version refers to; returns what was removed."""
    folder = root / "uploads"
    if not folder.is_dir():
        return []
    used = referenced_files(root)
    removed = []
    for path in folder.iterdir():
        if UPLOAD_NAME.match(path.name) and path.is_file() and str(path.resolve()) not in used:
            path.unlink()
            removed.append(path)
    if removed:
        logger.info("removed {} uploaded images no index version refers to", len(removed))
    return removed
