"""The marks of a watch list, read from what an owner or their lawyer has: L3D metadata (.jsonl / .json), a
folder of images, or a CSV with a header (``image`` required; ``name``, ``nice_classes``, ``vienna_codes``,
``owner``, ``owner_id``, ``id`` optional; lists separated by ``;`` or spaces; ``image`` relative to the CSV's folder).

A row that cannot be used is refused with its line and why (a watch list is a legal instrument: a silently
dropped mark is a conflict nobody is told of); images are checked when the list's index is built.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

from logo_similarity.classification.vienna import CODE as VIENNA_CODE
from logo_similarity.datasets import DatasetError, LogoRecord, read_dataset

_SPLIT = re.compile(r"[;,\s]+")


def read_watch_marks(source: str | Path) -> list[LogoRecord]:
    source = Path(source)
    if source.suffix.lower() != ".csv":
        return read_dataset(source)
    if not source.is_file():
        raise DatasetError(f"{source}: no such file")
    with open(source, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise DatasetError(f"{source}: no rows (a header line, then one mark per line)")
    if "image" not in rows[0]:
        raise DatasetError(f"{source}: the header needs an 'image' column (has {', '.join(rows[0])})")
    records, seen = [], set()
    for line, row in enumerate(rows, start=2):
        records.append(_record(row, source, line))
        if records[-1].key in seen:
            raise DatasetError(f"{source}:{line}: duplicate mark {records[-1].key!r}")
        seen.add(records[-1].key)
    return records


def _record(row: dict[str, str | None], source: Path, line: int) -> LogoRecord:
    where = f"{source}:{line}"
    image = (row.get("image") or "").strip()
    if not image:
        raise DatasetError(f"{where}: no image")
    classes = []
    for value in _SPLIT.split((row.get("nice_classes") or "").strip()):
        if not value:
            continue
        if not value.isdigit() or not 1 <= int(value) <= 45:
            raise DatasetError(f"{where}: Nice classes are numbers 1-45, got {value!r}")
        classes.append(int(value))
    codes = [c for c in _SPLIT.split((row.get("vienna_codes") or "").strip()) if c]
    bad = [c for c in codes if not VIENNA_CODE.match(c)]
    if bad:
        raise DatasetError(f"{where}: {bad[0]!r} is not a Vienna code like 27.05.01")
    extra = {"nice_classes": sorted(set(classes))}
    for column in ("owner", "owner_id"):
        if (row.get(column) or "").strip():
            extra[column] = row[column].strip()
    return LogoRecord(key=(row.get("id") or "").strip() or image, path=source.parent / image,
                      text=(row.get("name") or "").strip() or None, vienna_codes=tuple(codes), extra=extra)


def item_record(meta: dict[str, Any]) -> LogoRecord:
    """An indexed mark as a watched mark: its image, name and codes (its key kept)."""
    extra = {k: v for k, v in meta.items() if k in ("nice_classes", "owner", "owner_id", "published", "office",
                                                   "application_number")}
    return LogoRecord(str(meta["key"]), Path(meta["file"]), meta.get("text"), tuple(meta.get("vienna_codes") or ()),
                      meta.get("year"), extra)


__all__ = ["item_record", "read_watch_marks"]
