"""Phase 1: check that every image of a dataset decodes, before spending hours embedding it."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from logo_similarity.config import ImageSettings
from logo_similarity.datasets.records import LogoRecord, reject_entry, write_rejects
from logo_similarity.preprocessing import ImageLoadError, load_image


@dataclass
class PrepareReport:
    kept: int
    rejects: list[dict]
    metadata: Path


def _check(record: LogoRecord, settings: ImageSettings) -> dict | None:
    try:
        load_image(record.path, settings)
    except ImageLoadError as exc:
        return reject_entry(record, exc)
    return None


def prepare_dataset(records: list[LogoRecord], out: Path, settings: ImageSettings, workers: int = 2) -> PrepareReport:
    out.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        checks = list(tqdm(pool.map(lambda r: _check(r, settings), records), total=len(records), desc="checking"))
    rejects = [c for c in checks if c is not None]
    kept = [r for r, c in zip(records, checks) if c is None]
    metadata = out / "metadata.jsonl"
    tmp = metadata.with_suffix(".jsonl.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for record in kept:
            entry = {**record.extra, "id": record.key, "file": str(record.path.resolve()), "text": record.text,
                     "vienna_codes": list(record.vienna_codes), "year": record.year}
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
    tmp.replace(metadata)
    write_rejects(rejects, out / "rejects.jsonl")
    return PrepareReport(kept=len(kept), rejects=rejects, metadata=metadata)
