"""Datasets the system reads: a plain folder of images, or L3D-format metadata.

L3D metadata is a JSON list or JSON lines of ``{"file": "uuid.jpg", "text": "BRAND" | null,
"vienna_codes": ["27.05.01"], "year": 2016}``; ``file`` is relative to the metadata file's folder (or to
``images_dir`` when given). Extra keys are kept in ``extra``; an optional ``id`` (string) is kept as ``key``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from logo_similarity.classification.vienna import CODE as VIENNA_CODE  # one definition of a well-formed code

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".tif", ".tiff", ".bmp"})


class DatasetError(ValueError):
    """The dataset description is malformed; the message names the file and the line or entry."""


@dataclass(frozen=True)
class LogoRecord:
    key: str
    path: Path
    text: str | None = None
    vienna_codes: tuple[str, ...] = ()
    year: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_metadata(self) -> dict[str, Any]:
        """What an index stores for this record: its fields and every extra one (``ocr_text``, ``source_file``
        from ``logo-sim mask``, or any other key of the dataset)."""
        return {
            **self.extra,
            "key": self.key,
            "file": str(Path(self.path).absolute()),  # the server may run from another working directory
            "text": self.text,
            "vienna_codes": list(self.vienna_codes),
            "year": self.year,
        }


def record_from_metadata(meta: dict[str, Any]) -> LogoRecord:
    """The record an index item was made from (a rebuild re-reads its items this way, extras included)."""
    extra = {k: v for k, v in meta.items() if k not in {"id", "key", "file", "text", "vienna_codes", "year"}}
    return LogoRecord(str(meta["key"]), Path(meta["file"]), meta.get("text"), tuple(meta.get("vienna_codes") or ()),
                      meta.get("year"), extra)


def reject_entry(record: LogoRecord, exc: Exception) -> dict[str, Any]:
    """One line of a rejects.jsonl file: which item, and why it could not be used."""
    return {"key": record.key, "file": str(record.path), "reason": getattr(exc, "reason", "error"), "message": str(exc)}


def write_rejects(rejects: list[dict[str, Any]], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for reject in rejects:
            fh.write(json.dumps(reject) + "\n")


def _parse_entries(path: Path) -> list[dict[str, Any]]:
    raw = path.read_text(encoding="utf-8")
    stripped = raw.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}: invalid JSON ({exc})") from exc
        return data
    entries = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{number}: invalid JSON line ({exc.msg})") from exc
    return entries


def _record(entry: Any, where: str, images_dir: Path) -> LogoRecord:
    if not isinstance(entry, dict) or not isinstance(entry.get("file"), str) or not entry["file"]:
        raise DatasetError(f"{where}: each entry needs a non-empty string 'file'")
    text = entry.get("text")
    if text is not None and not isinstance(text, str):
        raise DatasetError(f"{where}: 'text' must be a string or null")
    codes = entry.get("vienna_codes") or []
    if not isinstance(codes, list) or not all(isinstance(c, str) and VIENNA_CODE.match(c) for c in codes):
        raise DatasetError(f"{where}: 'vienna_codes' must be a list of codes like '27.05.01', got {codes!r}")
    year = entry.get("year")
    if year is not None and (not isinstance(year, int) or isinstance(year, bool)):
        raise DatasetError(f"{where}: 'year' must be an integer or null")
    known = {"file", "text", "vienna_codes", "year", "id"}
    return LogoRecord(
        key=str(entry.get("id") or entry["file"]),
        path=images_dir / entry["file"],
        text=text.strip() or None if text else None,
        vienna_codes=tuple(codes),
        year=year,
        extra={k: v for k, v in entry.items() if k not in known},
    )


def read_dataset(source: str | Path, images_dir: str | Path | None = None) -> list[LogoRecord]:
    """Records of a folder of images (recursively, sorted) or of an L3D metadata file (.json / .jsonl)."""
    source = Path(source)
    if source.is_dir():
        files = sorted(p for p in source.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not files:
            raise DatasetError(f"{source}: no image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
        return [LogoRecord(key=str(p.relative_to(source)), path=p) for p in files]
    if not source.is_file():
        raise DatasetError(f"{source}: no such file or folder")
    base = Path(images_dir) if images_dir else source.parent
    entries = _parse_entries(source)
    if not isinstance(entries, list) or not entries:
        raise DatasetError(f"{source}: expected a non-empty JSON list or JSON lines of entries")
    records = [_record(e, f"{source} entry {i + 1}", base) for i, e in enumerate(entries)]
    seen: set[str] = set()
    for rec in records:
        if rec.key in seen:
            raise DatasetError(f"{source}: duplicate entry {rec.key!r}")
        seen.add(rec.key)
    return records
