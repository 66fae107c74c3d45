"""Corrections of an indexed mark's name, Vienna codes, Nice classes or year, without re-embedding.

An edit changes only the fields it names (the vectors, image and every other field stay as they were) and,
like every write, is saved as a new index version under the index's write lock. A corrected name becomes the
mark's registered name (``text``); what OCR read stays in ``ocr_text`` for the record, and the mark is marked
``name_reviewed`` so a review sheet does not list it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from logo_similarity.classification import load_vienna, parse_nice
from logo_similarity.retrieval.index import SearchIndex
from logo_similarity.retrieval.store.lock import index_writer

EDITABLE = ("text", "vienna_codes", "nice_classes", "year")
ALIASES = {"name": "text"}
MAX_NAME = 200


class EditError(ValueError):
    """An edit that names an unknown field or gives a value the field cannot hold."""


class UnknownItemError(LookupError):
    """An edit of an id the live index does not hold."""


@dataclass
class EditReport:
    changed: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)  # every named field already had that value
    version: Path | None = None


def clean_edit(change: dict[str, Any], vienna_file: str | None = None) -> dict[str, Any]:
    """The edit with each value checked and in its stored form; raises EditError saying what is wrong."""
    if not isinstance(change, dict) or not change:
        raise EditError(f"an edit names at least one of {', '.join(EDITABLE)}")
    out: dict[str, Any] = {}
    for raw_key, value in change.items():
        key = ALIASES.get(raw_key, raw_key)
        if key not in EDITABLE:
            raise EditError(f"{raw_key!r} cannot be edited; editable: name, {', '.join(EDITABLE[1:])}")
        out[key] = _clean(key, value, vienna_file)
    return out


def _clean(key: str, value: Any, vienna_file: str | None) -> Any:
    if key == "text":
        if value is not None and not isinstance(value, str):
            raise EditError("name must be a string or null")
        value = (value or "").strip()
        if len(value) > MAX_NAME:
            raise EditError(f"name is longer than {MAX_NAME} characters")
        return value or None
    if key == "year":
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 9999:
            raise EditError(f"year must be a whole number from 0 to 9999 or null, got {value!r}")
        return value
    if value is None:
        value = []
    if not isinstance(value, list):
        raise EditError(f"{key} must be a list")
    if key == "nice_classes":
        try:
            return sorted(parse_nice([str(v) for v in value]))
        except ValueError as exc:
            raise EditError(str(exc)) from exc
    table = load_vienna(vienna_file)
    codes = []
    for code in value:
        problem = table.problem(code) if isinstance(code, str) else f"not a code: {code!r}"
        if problem:
            raise EditError(problem)
        codes.append(code.strip())
    return list(dict.fromkeys(codes))


def edit_items(root: Path, changes: dict[int, dict[str, Any]], vienna_file: str | None = None,
               lock_timeout_s: float = 300.0) -> EditReport:
    cleaned = {int(i): clean_edit(c, vienna_file) for i, c in changes.items()}  # every edit checked first
    with index_writer(root, f"editing {len(cleaned)} items", lock_timeout_s):
        return edit_items_locked(root, cleaned)


def edit_items_locked(root: Path, cleaned: dict[int, dict[str, Any]]) -> EditReport:
    """Apply already cleaned edits (``clean_edit``) for a caller holding the write lock: all or none."""
    index = SearchIndex.load(root)
    missing = sorted(set(cleaned) - set(index.metadata))
    if missing:
        raise UnknownItemError(f"no item with id {', '.join(map(str, missing[:10]))} in {root}")
    report, updated = EditReport(), {}
    for item_id, change in sorted(cleaned.items()):
        meta = index.metadata[item_id]
        if all(meta.get(k) == v for k, v in change.items()):
            report.unchanged.append(item_id)
            continue
        new = {k: v for k, v in meta.items() if k != "id"}
        new.update(change)
        if "text" in change:
            new["name_reviewed"] = True
        updated[item_id] = new
        report.changed.append(item_id)
    if updated:
        index.set_metadata(updated)
        report.version = index.save(root)
    return report
