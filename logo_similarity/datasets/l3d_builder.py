"""An L3D-format dataset from trademark registers in ST.66 XML (``logo-sim dataset build``).

Output folder::

    metadata.jsonl    one L3D item per kept mark: file, text, vienna_codes, year, nice_classes,
                      application_number, mark_feature, image_index, published (first publication
                      date, ISO), owner and owner_id (first applicant), office, and vienna_unknown: the codes the
                      Vienna table does not know (a newer edition, a typo), when there are any; the mark is
                      kept with its known codes (one bad code never costs the mark); with ``keep_repeats``,
                      id ("application/image": the key, as files repeat) and same_image_as
    images/<sha>.png  the image loaded as everywhere (alpha on white), padded to square, resized to ``side``
    rejects.jsonl     {source, application_number, image_file, reason, message[, duplicate_of]} per bad record
    report/           summary.json, years.png, vienna_categories.png
    .progress.json    resume point: records handled and the byte length of both .jsonl files at that point

Records are handled in batches; after each batch the images are in place, both .jsonl files are appended and
fsynced, and only then the progress record is replaced. A build killed at any instant is resumed by running the
same command: the .jsonl files are cut back to the recorded lengths (dropping half-written lines) and the
records already handled are skipped. Images are named by the hash of their normalised pixels, so the same
image in two marks is stored once. The second mark goes to rejects as ``duplicate_image`` naming the first (a
training set wants each picture once), or, with ``keep_repeats`` (``--keep-repeats``; a watch run's filings, a
register where each application is a mark of its own), is kept like any mark, with ``same_image_as`` naming the
first. A build resumes only in the mode it was started in.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from loguru import logger
from tqdm import tqdm

from logo_similarity.classification import ViennaClassification, canonical, load_vienna
from logo_similarity.config import ImageSettings
from logo_similarity.datasets.records import DatasetError
from logo_similarity.datasets.st66 import TradeMarkRecord, XmlReject, iter_trademarks
from logo_similarity.preprocessing import ImageLoadError, load_image
from logo_similarity.preprocessing.normalize import pad_to_square
from logo_similarity.utils.fs import atomic_write



@dataclass
class DatasetReport:
    records: int = 0
    items: int = 0
    rejects: Counter = field(default_factory=Counter)
    vienna_unknown: Counter = field(default_factory=Counter)  # codes not in the table, on marks kept all the same
    seconds: float = 0.0

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


def _progress_path(out: Path) -> Path:
    return out / ".progress.json"


def _resume(out: Path, keep_repeats: bool) -> tuple[int, dict[str, str], set[str]]:
    """Records already handled; the .jsonl files cut back to what the progress record vouches for."""
    progress = json.loads(_progress_path(out).read_text()) if _progress_path(out).exists() else {}
    if progress and bool(progress.get("keep_repeats", False)) != keep_repeats:
        raise DatasetError(f"{out} was started {'with' if progress.get('keep_repeats') else 'without'} "
                           "--keep-repeats: resume it the same way, or build into another folder")
    for name in ("metadata.jsonl", "rejects.jsonl"):
        path = out / name
        keep = int(progress.get(name, 0))
        if path.exists() and path.stat().st_size != keep:
            with open(path, "r+b") as fh:
                fh.truncate(keep)
    seen: dict[str, str] = {}  # image hash -> the mark that kept it first
    kept: set[str] = set()  # the marks kept ("application/image")
    if (out / "metadata.jsonl").exists():
        with open(out / "metadata.jsonl") as fh:
            for line in fh:
                item = json.loads(line)
                mark = f"{item['application_number']}/{item['image_index']}"
                seen.setdefault(Path(item["file"]).stem, mark)
                kept.add(mark)
    return int(progress.get("records", 0)), seen, kept


def _checked_codes(codes: tuple[str, ...], table: ViennaClassification) -> tuple[list[str], list[dict[str, str]]]:
    """The known codes in canonical form (27.05.01), and each other one with the problem the classification finds
    (a newer edition's code, a typo): flagged on the mark, which is kept with what is known of it."""
    known: list[str] = []
    unknown: list[dict[str, str]] = []
    for code in codes:
        problem = table.problem(code)
        if problem:
            unknown.append({"code": code, "problem": problem})
        elif canonical(code) not in known:
            known.append(canonical(code))
    return known, unknown


def _image_bytes(record: TradeMarkRecord, images_dir: Path | None) -> bytes:
    """The image a record names: under ``images_dir``, beside its XML (or its zip), or inside that zip."""
    name = record.image_file or ""
    xml_path = Path(record.source.split("!", 1)[0])
    for folder in ([images_dir] if images_dir else []) + [xml_path.parent]:
        candidate = folder / name
        if candidate.is_file():
            return candidate.read_bytes()
    if "!" in record.source:
        with zipfile.ZipFile(xml_path) as archive:
            members = {Path(m).name: m for m in archive.namelist()}
            if Path(name).name in members:
                return archive.read(members[Path(name).name])
    raise FileNotFoundError(f"image {name!r} not found (looked in {images_dir or '-'}, {xml_path.parent})")


def _normalised_png(data: bytes, side: int, settings: ImageSettings) -> tuple[str, bytes]:
    image = pad_to_square(load_image(data, settings)).resize((side, side), reducing_gap=3.0)
    digest = hashlib.sha256(image.tobytes()).hexdigest()[:32]
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False)
    return digest, buf.getvalue()


def _reject(record: TradeMarkRecord | XmlReject, reason: str, message: str, **extra) -> dict:
    return {"source": record.source, "application_number": record.application_number,
            "image_file": getattr(record, "image_file", None), "reason": reason, "message": message, **extra}


def _handle(record, out: Path, images_dir: Path | None, side: int, settings: ImageSettings,
            seen: dict[str, str], table: ViennaClassification, kept: set[str],
            keep_repeats: bool = False) -> tuple[dict | None, dict | None]:
    """(metadata item, None) for a kept mark, else (None, reject)."""
    if isinstance(record, XmlReject):
        return None, _reject(record, record.reason, record.message)
    if not record.image_file:
        return None, _reject(record, "no_image", "the mark lists no image")
    codes, unknown = _checked_codes(record.vienna_codes, table)
    try:
        digest, png = _normalised_png(_image_bytes(record, images_dir), side, settings)
    except FileNotFoundError as exc:
        return None, _reject(record, "missing_image", str(exc))
    except (ImageLoadError, zipfile.BadZipFile, OSError) as exc:
        return None, _reject(record, getattr(exc, "reason", "broken_image"), str(exc))
    first, mark = seen.get(digest), f"{record.application_number}/{record.image_index}"
    if first is not None and not keep_repeats:
        return None, _reject(record, "duplicate_image", f"same image as {first}", duplicate_of=first)
    if keep_repeats and mark in kept:  # listed again (another transaction): the first listing is kept
        return None, _reject(record, "duplicate_record", f"{mark} is already in the dataset", duplicate_of=mark)
    target = out / "images" / f"{digest}.png"
    if not target.exists():
        atomic_write(target, png)
    seen.setdefault(digest, mark)
    kept.add(mark)
    return {"file": f"images/{digest}.png", "text": record.text, "vienna_codes": codes,
            "year": record.year, "nice_classes": list(record.nice_classes),
            "application_number": record.application_number, "mark_feature": record.mark_feature,
            "image_index": record.image_index, "published": record.published, "owner": record.owner,
            "owner_id": record.owner_id, "office": record.office,
            **({"vienna_unknown": [u["code"] for u in unknown]} if unknown else {}),
            **({"id": mark} if keep_repeats else {}),  # files repeat: the mark is the key
            **({"same_image_as": first} if first is not None else {})}, None


def _append(path: Path, lines: list[dict]) -> int:
    with open(path, "a") as fh:
        for line in lines:
            fh.write(json.dumps(line) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return path.stat().st_size


def build_dataset(sources: list[Path], out: Path, images_dir: Path | None = None, side: int = 256,
                  settings: ImageSettings | None = None, batch: int = 256,
                  vienna: ViennaClassification | None = None, keep_repeats: bool = False) -> DatasetReport:
    """Build (or resume) the dataset in ``out`` from ST.66 ``sources``; see the module doc for the layout."""
    import time

    settings = settings or ImageSettings()
    table = vienna or load_vienna()
    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for folder in (out, out / "images", out / "report"):  # files a killed run was writing (atomic_write's temp names)
        for stale in folder.glob(".*.tmp-*"):
            stale.unlink(missing_ok=True)
    done, seen, kept = _resume(out, keep_repeats)
    report = DatasetReport()
    if done:
        logger.info("resuming: {} records already handled in {}", done, out)
    pending_items: list[dict] = []
    pending_rejects: list[dict] = []
    position = 0

    def flush() -> None:
        sizes = {"metadata.jsonl": _append(out / "metadata.jsonl", pending_items),
                 "rejects.jsonl": _append(out / "rejects.jsonl", pending_rejects)}
        atomic_write(_progress_path(out), json.dumps({"records": position, **sizes,
                                                      "keep_repeats": keep_repeats}).encode())
        pending_items.clear()
        pending_rejects.clear()

    records = iter_trademarks([Path(s) for s in sources])
    for position, record in enumerate(tqdm(records, desc="dataset", unit="rec", disable=None), start=1):
        if position <= done:
            continue
        item, reject = _handle(record, out, images_dir, side, settings, seen, table, kept, keep_repeats)
        report.records += 1
        if item is not None:
            pending_items.append(item)
            report.items += 1
            report.vienna_unknown.update(item.get("vienna_unknown", ()))
        else:
            pending_rejects.append(reject)
            report.rejects[reject["reason"]] += 1
        if position % batch == 0:
            flush()
    flush()
    report.seconds = time.perf_counter() - start
    summary = write_report(out)
    flagged = summary["vienna_unknown"]
    if flagged["items"]:
        logger.warning("{} marks kept with Vienna codes the table does not know ({}), flagged vienna_unknown; see "
                       "report/summary.json", flagged["items"], ", ".join(list(flagged["codes"])[:5]))
    return report


def write_report(out: Path) -> dict:
    """``report/summary.json`` and histograms (years, Vienna categories) over the whole dataset as it stands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items = [json.loads(line) for line in open(out / "metadata.jsonl") if line.strip()]
    rejects = [json.loads(line) for line in open(out / "rejects.jsonl") if line.strip()]
    years = Counter(i["year"] for i in items if i.get("year"))
    categories = Counter(int(c[:2]) for i in items for c in set(v[:2] for v in i["vienna_codes"]))
    summary = {"items": len(items), "rejects": len(rejects),
               "rejects_by_reason": dict(Counter(r["reason"] for r in rejects).most_common()),
               "with_name": sum(1 for i in items if i.get("text")), "years": dict(sorted(years.items())),
               "vienna_unknown": {"items": sum(1 for i in items if i.get("vienna_unknown")),
                                  "codes": dict(Counter(c for i in items for c in i.get("vienna_unknown", ()))
                                                .most_common())},
               "vienna_categories": dict(sorted(categories.items()))}
    folder = out / "report"
    folder.mkdir(exist_ok=True)
    atomic_write(folder / "summary.json", json.dumps(summary, indent=2).encode())
    for name, counts, label in (("years", years, "application year"), ("vienna_categories", categories,
                                                                         "Vienna category")):
        fig, ax = plt.subplots(figsize=(8, 3))
        keys = sorted(counts)
        ax.bar([str(k) for k in keys], [counts[k] for k in keys], color="#3b6ea5")
        ax.set_xlabel(label)
        ax.set_ylabel("images")
        ax.tick_params(axis="x", labelrotation=90, labelsize=7)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100)
        plt.close(fig)
        atomic_write(folder / f"{name}.png", buf.getvalue())
    return summary
