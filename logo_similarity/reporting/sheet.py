"""Result sheets a person can look at: a self-contained HTML page and a PNG contact sheet."""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from logo_similarity.preprocessing import load_image, pad_to_square
from logo_similarity.retrieval import SearchResult

THUMB = 128


@dataclass
class QueryReport:
    title: str
    query: Image.Image
    results: list[SearchResult]
    expected_key: str | None = None


def _thumb(image: Image.Image, side: int = THUMB) -> Image.Image:
    return pad_to_square(image).resize((side, side), Image.Resampling.LANCZOS)


def _data_uri(image: Image.Image) -> str:
    buf = io.BytesIO()
    _thumb(image).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def write_html_sheet(reports: list[QueryReport], path: Path, title: str = "logo-similarity results") -> Path:
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>",
        html.escape(title),
        "</title><style>body{font-family:sans-serif;margin:24px}figure{display:inline-block;margin:4px;"
        "text-align:center;width:140px;vertical-align:top}img{border:1px solid #ccc;background:#fff}"
        "figcaption{font-size:12px;word-break:break-all}.query img{border:2px solid #333}"
        ".hit img{border:3px solid #2a2}section{margin-bottom:24px}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for report in reports:
        parts.append(f"<section><h2>{html.escape(report.title)}</h2>")
        parts.append(f"<figure class='query'><img src='{_data_uri(report.query)}'><figcaption>query</figcaption></figure>")
        for r in report.results:
            css = "hit" if report.expected_key and r.key == report.expected_key else ""
            name = html.escape(r.text or r.key)
            parts.append(
                f"<figure class='{css}'><img src='{_data_uri(load_image(r.file))}'>"
                f"<figcaption>#{r.rank} {name}<br>score {r.score:.3f}</figcaption></figure>"
            )
        parts.append("</section>")
    parts.append("</body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(parts), encoding="utf-8")
    return path


def write_png_sheet(reports: list[QueryReport], path: Path, columns: int = 6) -> Path:
    """One row per query: the query, then its top ``columns - 1`` results with rank and score."""
    cell, caption = THUMB + 8, 28
    sheet = Image.new("RGB", (columns * cell, len(reports) * (cell + caption)), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for row, report in enumerate(reports):
        y = row * (cell + caption)
        tiles = [(report.query, "query", (40, 40, 40))]
        for r in report.results[: columns - 1]:
            hit = report.expected_key is not None and r.key == report.expected_key
            label = f"#{r.rank} {r.score:.3f} {(r.text or '')[:10]}"
            tiles.append((load_image(r.file), label, (30, 160, 30) if hit else (200, 200, 200)))
        for col, (image, label, colour) in enumerate(tiles):
            x = col * cell
            draw.rectangle((x + 1, y + 1, x + cell - 2, y + cell - 2), outline=colour, width=3)
            sheet.paste(_thumb(image), (x + 4, y + 4))
            draw.text((x + 4, y + cell + 2), label, fill=(0, 0, 0), font=font)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path
