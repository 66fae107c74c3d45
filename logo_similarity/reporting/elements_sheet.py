"""A sheet of the elements the split found in marks: each mark with its word boxes (red) and figure box (blue),
the re-fitted figure the embedder sees, its kind and the words read. For checking the split by eye."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from logo_similarity.preprocessing import pad_to_square
from logo_similarity.preprocessing.elements import Elements

SIDE = 160


def _annotated(image: Image.Image, parts: Elements) -> Image.Image:
    out = image.convert("RGB").copy()
    draw = ImageDraw.Draw(out)
    for x0, y0, x1, y1 in parts.ocr.boxes:
        draw.rectangle((x0, y0, x1, y1), outline=(220, 30, 30), width=2)
    for quad in parts.ocr.polygons:
        draw.polygon([tuple(p) for p in quad], outline=(220, 30, 30))
    if parts.figure_box:
        draw.rectangle(parts.figure_box, outline=(30, 90, 220), width=2)
    return out


def _tile(image: Image.Image | None) -> Image.Image:
    if image is None:
        return Image.new("RGB", (SIDE, SIDE), (235, 235, 235))
    return pad_to_square(image).resize((SIDE, SIDE), Image.Resampling.LANCZOS)


def _caption(title: str, parts: Elements) -> str:
    words = " ".join(f"{t} ({c:.2f})" for t, c in zip(parts.ocr.texts, parts.ocr.confidences))
    return f"{title}: {parts.kind}" + (f" · {words}" if words else "")


def write_elements_sheet(marks: list[tuple[str, Image.Image, Elements]], html_path: Path, png_path: Path,
                         columns: int = 4) -> tuple[Path, Path]:
    """HTML and PNG sheets of ``marks`` (title, image, its elements): mark with boxes, then its figure."""
    pairs = [(title, _tile(_annotated(image, parts)), _tile(parts.figure), parts) for title, image, parts in marks]
    rows = (len(pairs) + columns - 1) // columns
    cell_w, cell_h = 2 * SIDE + 12, SIDE + 30
    sheet = Image.new("RGB", (columns * cell_w, max(1, rows) * cell_h), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    body = []
    for n, (title, marked, figure, parts) in enumerate(pairs):
        x, y = (n % columns) * cell_w, (n // columns) * cell_h
        sheet.paste(marked, (x + 2, y + 2))
        sheet.paste(figure, (x + SIDE + 8, y + 2))
        draw.text((x + 2, y + SIDE + 6), _caption(title, parts)[:54], fill=(0, 0, 0), font=font)
        uris = []
        for tile in (marked, figure):
            buf = io.BytesIO()
            tile.save(buf, format="PNG")
            uris.append("data:image/png;base64," + base64.b64encode(buf.getvalue()).decode())
        body.append(f"<figure><img src='{uris[0]}'><img src='{uris[1]}'>"
                    f"<figcaption>{html.escape(_caption(title, parts))}</figcaption></figure>")
    png_path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(png_path)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>elements</title><style>body{font-family:sans-serif}"
        "figure{display:inline-block;margin:6px;width:340px;vertical-align:top}img{border:1px solid #ccc;margin:2px}"
        "figcaption{font-size:12px}</style></head><body><h1>Elements found: mark (words red, figure blue), figure"
        "</h1>" + "".join(body) + "</body></html>", encoding="utf-8")
    return html_path, png_path
