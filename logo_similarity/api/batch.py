"""Bulk adds (``POST /index/items:batch``): the upload is staged on disk, then added by a job as one version.

Staging writes the images and a normalised L3D ``dataset.jsonl`` to ``ROOT/jobs/<job id>/`` before the job is
queued, so a job a restart interrupted can run again from it. Each item carries the job's id (``batch_job``),
which makes a re-run idempotent: if the version with those items was already switched to, the job reports
them instead of adding them twice. The folder is removed when the job ends (it is ours alone).
"""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from logo_similarity.api.errors import BadQuery
from logo_similarity.datasets import DatasetError, LogoRecord, read_dataset

SAFE_NAME_MAX = 200


@dataclass(frozen=True)
class StagedBatch:
    id: str
    folder: Path
    items: int


def job_folder(root: Path, job_id: str) -> Path:
    return Path(root) / "jobs" / job_id


def _safe_name(name: str) -> str:
    base = Path(name.replace("\\", "/")).name.strip()
    if not base or base in (".", "..") or len(base) > SAFE_NAME_MAX:
        raise BadQuery(f"every image needs a file name (got {name!r})", reason="invalid_file_name")
    return base


def stage_batch(root: Path, files: list[tuple[str, BinaryIO]], metadata: bytes) -> StagedBatch:
    """Copy the uploaded files into a new job folder and check the metadata against them (422 when wrong)."""
    job_id = uuid.uuid4().hex
    folder = job_folder(root, job_id)
    images = folder / "images"
    images.mkdir(parents=True)
    try:
        names = []
        for name, stream in files:
            safe = _safe_name(name)
            if safe in names:
                raise BadQuery(f"two images are named {safe!r}; names must be unique", reason="duplicate_file_name")
            with open(images / safe, "wb") as out:
                shutil.copyfileobj(stream, out, 1 << 20)
            names.append(safe)
        entries = _entries(metadata, names)
        (folder / "dataset.jsonl").write_text("\n".join(json.dumps(e, ensure_ascii=False) for e in entries) + "\n")
        batch_records(folder)  # the same reader the job uses: refuse now what it would refuse later
        return StagedBatch(job_id, folder, len(entries))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _entries(metadata: bytes, names: list[str]) -> list[dict]:
    """One L3D entry per image: the metadata's line for it, or a bare entry keyed by its file name."""
    given: dict[str, dict] = {}
    try:
        text = metadata.decode("utf-8") if metadata else ""
    except UnicodeDecodeError as exc:
        raise BadQuery("metadata must be UTF-8 JSON lines", reason="invalid_metadata") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadQuery(f"metadata line {number}: invalid JSON ({exc.msg})", reason="invalid_metadata") from exc
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            raise BadQuery(f"metadata line {number}: needs a 'file' naming an uploaded image", reason="invalid_metadata")
        if entry["file"] not in names:
            raise BadQuery(f"metadata line {number}: no uploaded image is named {entry['file']!r}",
                           reason="invalid_metadata")
        if entry["file"] in given:
            raise BadQuery(f"metadata line {number}: {entry['file']!r} is described twice", reason="invalid_metadata")
        given[entry["file"]] = entry
    return [given.get(name, {"file": name}) for name in names]


def batch_records(folder: Path) -> list[LogoRecord]:
    try:
        return read_dataset(folder / "dataset.jsonl", images_dir=folder / "images")
    except DatasetError as exc:
        raise BadQuery(str(exc).replace(str(folder), "metadata"), reason="invalid_metadata") from exc
