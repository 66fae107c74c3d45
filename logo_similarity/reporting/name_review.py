"""The name review loop: the marks whose only name is what OCR read, least sure first, as a CSV a reviewer fills
in and an HTML sheet to look at; then the filled-in CSV back as edits.

CSV columns: ``id, key, ocr_text, ocr_confidence, name, vienna_codes, nice_classes, year``. The reviewer writes
the mark's verbal element in ``name`` (and may correct the other three, codes and classes separated by ``;``);
a row whose editable columns are all empty is left alone. ``ocr_text`` is for reading only.
"""

from __future__ import annotations

import base64
import csv
import html
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from logo_similarity.config import ImageSettings
from logo_similarity.preprocessing import ImageLoadError, load_image, pad_to_square
from logo_similarity.indexing.edits import EditError, clean_edit
from logo_similarity.utils.fs import atomic_write

COLUMNS = ["id", "key", "ocr_text", "ocr_confidence", "name", "vienna_codes", "nice_classes", "year"]
EDITABLE_COLUMNS = {"name": "text", "vienna_codes": "vienna_codes", "nice_classes": "nice_classes", "year": "year"}
FORMULA_START = ("=", "+", "-", "@")  # a spreadsheet would run these as formulas


@dataclass
class ReviewSheet:
    rows: int
    csv: Path
    html: Path


def review_candidates(metadata: dict[int, dict[str, Any]], below: float) -> list[dict[str, Any]]:
    """Marks named only by OCR, not yet reviewed, read with confidence at or below ``below``; least sure first."""
    picked = [m for m in metadata.values() if not m.get("text") and m.get("ocr_text") and not m.get("name_reviewed")
              and float(m.get("ocr_confidence") or 0.0) <= below]
    return sorted(picked, key=lambda m: (float(m.get("ocr_confidence") or 0.0), int(m["id"])))


def _safe_cell(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text


def _thumbnail(path: str, image_settings: ImageSettings, side: int = 96) -> str:
    try:
        image = load_image(path, image_settings)
    except (ImageLoadError, OSError) as exc:  # the row says why its image is missing; the sheet is still made
        return f'<span class="missing">image unavailable: {html.escape(str(exc))}</span>'
    buf = io.BytesIO()
    pad_to_square(image).resize((side, side), Image.Resampling.LANCZOS).save(buf, format="PNG", optimize=True)
    return f'<img alt="" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def write_review(items: list[dict[str, Any]], out: Path, image_settings: ImageSettings) -> ReviewSheet:
    out.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    rows_html = []
    for m in items:
        confidence = m.get("ocr_confidence")
        writer.writerow({"id": m["id"], "key": _safe_cell(str(m["key"])), "ocr_text": _safe_cell(m["ocr_text"]),
                         "ocr_confidence": "" if confidence is None else f"{confidence:.3f}", "name": "",
                         "vienna_codes": "", "nice_classes": "", "year": ""})
        rows_html.append(
            f"<tr><td>{m['id']}</td><td>{_thumbnail(m['file'], image_settings)}</td>"
            f"<td>{html.escape(m['ocr_text'])}</td><td>{'' if confidence is None else f'{confidence:.2f}'}</td>"
            f"<td>{html.escape(str(m['key']))}</td><td>{html.escape('; '.join(m.get('vienna_codes') or []))}</td></tr>")
    csv_path, html_path = out / "names.csv", out / "names.html"
    atomic_write(csv_path, buf.getvalue().encode())
    atomic_write(html_path, _page(rows_html, csv_path.name).encode())
    return ReviewSheet(len(items), csv_path, html_path)


def _page(rows: list[str], csv_name: str) -> str:
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Name review</title><style>
body{{font-family:sans-serif;margin:1.5em}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}} img{{display:block}} .missing{{color:#a00}}
</style></head><body><h1>Names read by OCR, least sure first ({len(rows)})</h1>
<p>Write each mark's verbal element in the <code>name</code> column of <code>{html.escape(csv_name)}</code>
(ids as here), then run <code>logo-sim names apply {html.escape(csv_name)}</code>.</p>
<table><tr><th>id</th><th>logo</th><th>read by OCR</th><th>confidence</th><th>key</th><th>Vienna</th></tr>
{"".join(rows)}</table></body></html>
"""


def read_corrections(path: Path, vienna_file: str | None = None) -> dict[int, dict[str, Any]]:
    """The filled-in CSV as cleaned edits by id; raises EditError naming every bad line (nothing is applied)."""
    try:
        text = path.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise EditError(f"cannot read {path}: {exc}") from exc
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "id" not in reader.fieldnames or "name" not in reader.fieldnames:
        raise EditError(f"{path}: expected a header with at least 'id' and 'name' (as `logo-sim names review` writes)")
    edits: dict[int, dict[str, Any]] = {}
    problems = []
    for line, row in enumerate(reader, 2):
        try:
            change = _row_change(row)
            if change:
                item_id = int(str(row["id"]).strip())
                if item_id in edits:
                    raise EditError(f"id {item_id} appears twice")
                edits[item_id] = clean_edit(change, vienna_file)
        except (EditError, ValueError) as exc:
            problems.append(f"line {line}: {exc}")
    if problems:
        raise EditError(f"{path}: nothing applied; " + "; ".join(problems[:20]))
    return edits


def _row_change(row: dict[str, str]) -> dict[str, Any]:
    change: dict[str, Any] = {}
    for column, field in EDITABLE_COLUMNS.items():
        value = (row.get(column) or "").strip()
        if not value:
            continue
        if field == "year":
            change[field] = int(value)
        elif field in ("vienna_codes", "nice_classes"):
            change[field] = [v.strip() for v in value.replace(",", ";").split(";") if v.strip()]
        else:
            change[field] = value
    return change
