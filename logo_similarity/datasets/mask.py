"""Phase 2: mask the text of every logo of a dataset, keeping what OCR read and where.

Writes ``OUT/images/<n>.png`` (masked) and ``OUT/metadata.jsonl`` (L3D format plus ``ocr_text`` and
``text_boxes``); unreadable images go to ``OUT/rejects.jsonl``. Index building masks on the fly when
``text.mask`` is on, so this phase is for inspecting masks or for feeding masked images to other tools.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from logo_similarity.config import ImageSettings, TextSettings
from logo_similarity.datasets.records import LogoRecord, reject_entry, write_rejects
from logo_similarity.preprocessing import ImageLoadError, load_image


@dataclass
class MaskReport:
    images: int
    with_text: int
    rejects: list[dict]
    metadata: Path


def mask_dataset(
    records: list[LogoRecord], out: Path, image: ImageSettings, text: TextSettings, cache_dir: Path,
    recognize: bool = True,
) -> MaskReport:
    from logo_similarity.preprocessing.text_mask import remove_text  # loads OCR (torch): only when masking

    (out / "images").mkdir(parents=True, exist_ok=True)
    rejects, with_text, kept = [], 0, 0
    tmp = out / "metadata.jsonl.tmp"
    with open(tmp, "w", encoding="utf-8") as meta:
        for number, record in enumerate(tqdm(records, desc="masking text", unit="img")):
            try:
                logo = load_image(record.path, image)
            except ImageLoadError as exc:
                rejects.append(reject_entry(record, exc))
                continue
            masked = remove_text(logo, text, cache_dir, recognize=recognize)
            name = f"images/{number:07d}.png"
            masked.image.save(out / name)
            with_text += bool(masked.ocr)
            kept += 1
            boxes = [list(b) for b in masked.ocr.boxes] + [[c for p in q for c in p] for q in masked.ocr.polygons]
            entry = {**record.to_metadata(), "id": record.key, "file": name, "source_file": str(record.path),
                     "ocr_text": masked.ocr.text or None, "text_boxes": boxes}
            entry.pop("key")
            meta.write(json.dumps(entry, ensure_ascii=False) + "\n")
    tmp.replace(out / "metadata.jsonl")
    write_rejects(rejects, out / "rejects.jsonl")
    return MaskReport(kept, with_text, rejects, out / "metadata.jsonl")
