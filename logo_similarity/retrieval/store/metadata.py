"""Item metadata of an index version in SQLite (stdlib): id <-> file, name, Vienna codes, year, OCR text and
boxes, and the checksum of the source image. One file per version, written once and then only read.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE items (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    file TEXT NOT NULL,
    text TEXT,
    vienna_codes TEXT NOT NULL,      -- JSON list
    year INTEGER,
    ocr_text TEXT,
    text_boxes TEXT,                 -- JSON list of boxes / quadrilaterals, null when masking did not run
    source_sha256 TEXT,
    extra TEXT                       -- JSON object of any other fields
);
CREATE INDEX items_key ON items(key);
"""
_COLUMNS = ("id", "key", "file", "text", "vienna_codes", "year", "ocr_text", "text_boxes", "source_sha256")


def write_metadata(path: Path, items: dict[int, dict[str, Any]]) -> None:
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
        db.executemany(
            "INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (_row(item_id, meta) for item_id, meta in sorted(items.items())),
        )
    db.close()


def _row(item_id: int, meta: dict[str, Any]) -> tuple:
    extra = {k: v for k, v in meta.items() if k not in _COLUMNS}
    boxes = meta.get("text_boxes")
    return (
        int(item_id), meta["key"], meta.get("file", ""), meta.get("text"),
        json.dumps(list(meta.get("vienna_codes") or [])), meta.get("year"), meta.get("ocr_text"),
        None if boxes is None else json.dumps(boxes), meta.get("source_sha256"),
        json.dumps(extra) if extra else None,
    )


def read_metadata(path: Path) -> dict[int, dict[str, Any]]:
    items: dict[int, dict[str, Any]] = {}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        for row in db.execute("SELECT * FROM items ORDER BY id"):
            item_id, key, file, text, codes, year, ocr_text, boxes, sha, extra = row
            meta: dict[str, Any] = {"id": item_id, "key": key, "file": file, "text": text,
                                    "vienna_codes": json.loads(codes), "year": year}
            if ocr_text is not None:
                meta["ocr_text"] = ocr_text
            if boxes is not None:
                meta["text_boxes"] = json.loads(boxes)
            if sha is not None:
                meta["source_sha256"] = sha
            if extra:
                meta.update(json.loads(extra))
            items[item_id] = meta
    finally:
        db.close()
    return items


def ids_with_extra(path: Path, key: str, value: str) -> list[int]:
    """Ids of the items whose extra field ``key`` equals ``value`` (one SQL query; nothing else is read)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT id FROM items WHERE json_extract(extra, ?) = ? ORDER BY id", (f"$.{key}", value))
        return [row[0] for row in rows]
    finally:
        db.close()


def searchable_name(meta: dict[str, Any]) -> tuple[str | None, str | None]:
    """(name, source) an item is searched and scored by: its registered name, else the text read from its logo."""
    if meta.get("text"):
        return meta["text"], "name"
    if meta.get("ocr_text"):
        return meta["ocr_text"], "ocr"
    return None, None
