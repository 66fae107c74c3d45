"""The filings a watch run compares: a folder of images, L3D metadata, or a register's ST.66 XML (files, zips, or
folders of them) through the dataset builder, whose output is kept under the watch root (its build resumes, so a
second run over the same XML reads what the first built); or the marks an index gained since one of its versions
(``items_since``: item ids are never reused, so what the live version holds and the old one did not is new)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from logo_similarity.config import Settings
from logo_similarity.datasets import LogoRecord, read_dataset
from logo_similarity.utils.fs import file_sha256

XML_SUFFIXES = (".xml", ".zip")


def is_register_xml(source: Path) -> bool:
    if source.is_file():
        return source.suffix.lower() in XML_SUFFIXES
    if not source.is_dir():
        return False
    # a register's folder holds its XML (or zips) and, often, the images the XML names beside it
    return any(p.suffix.lower() in XML_SUFFIXES for p in source.rglob("*") if p.is_file())


def read_filings(source: str | Path, settings: Settings) -> tuple[list[LogoRecord], list[dict[str, str]]]:
    """(filings, unreadable): each filing keyed by its application number and image position when the source
    says them (else its id or file), and the source's records that could not become filings, with why."""
    source = Path(source)
    if not is_register_xml(source):
        return read_dataset(source), []
    from logo_similarity.classification import load_vienna
    from logo_similarity.datasets.l3d_builder import build_dataset

    # every application is a filing, one whose image another has too (the same mark filed again) included
    key = f"{source.resolve()}:keep-repeats"
    out = Path(settings.watch.root) / "filings" / hashlib.sha256(key.encode()).hexdigest()[:16]
    build_dataset([source], out, settings=settings.image, vienna=load_vienna(settings.classification.vienna_file),
                  keep_repeats=True)
    records = [_keyed(r) for r in read_dataset(out / "metadata.jsonl")] if (out / "metadata.jsonl").stat().st_size else []
    unreadable = []
    for line in open(out / "rejects.jsonl", encoding="utf-8"):
        if line.strip():
            reject = json.loads(line)
            filing = reject.get("application_number") or reject.get("source")
            unreadable.append({"filing": str(filing), "reason": reject["reason"], "message": reject["message"]})
    return records, unreadable


def repeats_together(filings: list[LogoRecord]) -> list[LogoRecord]:
    """``filings`` with those whose image files hold the same bytes placed together, at the first one's place, the
    order otherwise kept: a run then reads and embeds a repeated image once (its feature cache only needs to hold
    the last few images), however far apart the repeats come (the same mark filed again for other goods, by
    another applicant, or at another office)."""
    groups: dict[str, list[LogoRecord]] = {}
    for filing in filings:
        try:
            digest = file_sha256(filing.path)
        except OSError:  # unreadable: its own group (the run lists it as skipped, with why)
            digest = f"unreadable:{filing.path}"
        groups.setdefault(digest, []).append(filing)
    return [filing for group in groups.values() for filing in group]


class VersionNotFound(LookupError):
    """The index has no such version (never had, or it was pruned)."""


def items_since(index_root: str | Path, since: str | None) -> tuple[list[LogoRecord], str]:
    """(the live version's items that ``since`` did not hold, the live version's name); ``since`` None: all."""
    from logo_similarity.retrieval.store.metadata import read_metadata
    from logo_similarity.retrieval.store.versions import live_version

    root = Path(index_root)
    live = live_version(root)
    if not (live / "metadata.sqlite").is_file():
        raise VersionNotFound(f"{root} holds no index")
    before: set[int] = set()
    if since:
        old = root / "versions" / since
        if since != live.name and not (old / "metadata.sqlite").is_file():
            raise VersionNotFound(f"{root} has no version {since!r} (kept versions: ls {root / 'versions'})")
        before = set(read_metadata((live if since == live.name else old) / "metadata.sqlite"))
    records = []
    for item_id, meta in read_metadata(live / "metadata.sqlite").items():
        if item_id in before:
            continue
        extra = {k: v for k, v in meta.items() if k not in ("id", "key", "file", "text", "vienna_codes", "year")}
        records.append(LogoRecord(f"{meta['key']}", Path(meta["file"]), meta.get("text") or meta.get("ocr_text"),
                                  tuple(meta.get("vienna_codes") or ()), meta.get("year"), {**extra, "item_id": item_id}))
    return records, live.name


def _keyed(record: LogoRecord) -> LogoRecord:
    number = record.extra.get("application_number")
    if not number:
        return record
    return LogoRecord(f"{number}/{record.extra.get('image_index', 0)}", record.path, record.text, record.vienna_codes,
                      record.year, record.extra)


__all__ = ["VersionNotFound", "is_register_xml", "items_since", "read_filings", "repeats_together"]
