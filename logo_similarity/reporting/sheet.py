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
    _thumb(image).save(buf, format="PNG")  # optimize=True: 3 % smaller, 4.5x the time (7.2 ms a thumbnail)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _components(r: SearchResult) -> str:
    return " · ".join(f"{name} {value:.2f}" for name, value in r.components.items() if value is not None)


def _match_svg(query_uri: str, result_uri: str, pairs: list[list[float]], side: int = THUMB) -> str:
    """Query and result side by side (padded squares, as the model saw them) with a line per verified match."""
    gap = 10
    lines = "".join(
        f"<line x1='{qx * side:.1f}' y1='{qy * side:.1f}' x2='{side + gap + cx * side:.1f}' y2='{cy * side:.1f}'/>"
        for qx, qy, cx, cy in pairs
    )
    return (
        f"<svg class='match' width='{2 * side + gap}' height='{side}' viewBox='0 0 {2 * side + gap} {side}'>"
        f"<image href='{query_uri}' x='0' y='0' width='{side}' height='{side}'/>"
        f"<image href='{result_uri}' x='{side + gap}' y='0' width='{side}' height='{side}'/>"
        f"<g stroke='#e07b00' stroke-width='1' opacity='.75'>{lines}</g></svg>"
    )


def _figure_uri(image: Image.Image, box) -> str:
    """The figure of a composite mark (its ``box`` of ``image``) as a small thumbnail."""
    return _data_uri(image.crop(tuple(box)))


def _elements_html(elements: dict | None, query: Image.Image, result: Image.Image) -> str:
    """Which element matched, both marks' kinds and words, and their figures side by side."""
    if not elements:
        return ""

    def mark(m: dict | None) -> str:
        if not m:
            return "-"
        words = " ".join(w for w, _ in m.get("words") or [])
        return html.escape(m["kind"] + (f" “{words}”" if words else ""))

    crops = "".join(
        f"<img class='fig' src='{_figure_uri(image, m['figure_box'])}' title='{who} figure'>"
        for who, m, image in (("query", elements.get("query"), query), ("result", elements.get("candidate"), result))
        if m and m.get("figure_box")
    )
    pair = f" ({elements['figure_pair'].replace('_', ' ')})" if elements.get("figure_pair") else ""
    return (f"<br>matched on: {html.escape(str(elements.get('matched')))}{html.escape(pair)}"
            f"<br>query: {mark(elements.get('query'))}<br>this mark: {mark(elements.get('candidate'))}"
            + (f"<br>{crops}" if crops else ""))


def write_html_sheet(reports: list[QueryReport], path: Path, title: str = "logo-similarity results") -> Path:
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>",
        html.escape(title),
        "</title><style>body{font-family:sans-serif;margin:24px}figure{display:inline-block;margin:4px;"
        "text-align:center;width:140px;vertical-align:top}img{border:1px solid #ccc;background:#fff}"
        "figcaption{font-size:12px;word-break:break-all}.query img{border:2px solid #333}"
        "figure.why{width:auto}.why figcaption{max-width:280px}img.fig{width:56px;height:56px;margin:2px}"
        ".hit img{border:3px solid #2a2}section{margin-bottom:24px}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for report in reports:
        parts.append(f"<section><h2>{html.escape(report.title)}</h2>")
        query_uri = _data_uri(report.query)
        parts.append(f"<figure class='query'><img src='{query_uri}'><figcaption>query</figcaption></figure>")
        for r in report.results:
            css = "hit" if report.expected_key and r.key == report.expected_key else ""
            name = html.escape(r.text or r.key)
            image = load_image(r.file)
            uri = _data_uri(image)
            pairs = r.explanation.get("spatial_pairs")
            picture = _match_svg(query_uri, uri, pairs) if pairs else f"<img src='{uri}'>"
            source = r.explanation.get("text_source") or {}
            said = (f"<br>name: “{html.escape(str(source.get('query_text')))}” ({source.get('query')}) ~ "
                    f"“{html.escape(str(source.get('candidate_text')))}” ({source.get('candidate')})"
                    if source.get("candidate_text") else "")
            parts.append(
                f"<figure class='{css} {'why' if pairs else ''}'>{picture}"
                f"<figcaption>#{r.rank} {name}<br>score {r.score:.3f}<br>{html.escape(_components(r))}{said}"
                f"{_elements_html(r.explanation.get('elements'), report.query, image)}"
                f"</figcaption></figure>"
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
        pairs = [[]] + [r.explanation.get("spatial_pairs") or [] for r in report.results[: columns - 1]]
        elements = [r.explanation.get("elements") or {} for r in report.results[: columns - 1]]
        boxes = [(elements[0].get("query") or {}).get("figure_box") if elements else None] + [
            (e.get("candidate") or {}).get("figure_box") for e in elements]
        for col, (image, label, colour) in enumerate(tiles):
            x = col * cell
            draw.rectangle((x + 1, y + 1, x + cell - 2, y + cell - 2), outline=colour, width=3)
            sheet.paste(_thumb(image), (x + 4, y + 4))
            for _, _, px, py in pairs[col]:  # where the query's shape was verified in this result
                cx, cy = x + 4 + px * THUMB, y + 4 + py * THUMB
                draw.ellipse((cx - 2, cy - 2, cx + 2, cy + 2), fill=(224, 123, 0))
            if boxes[col]:  # the figure the element comparison used, outlined
                draw.rectangle(_thumb_box(boxes[col], image.size, x + 4, y + 4), outline=(40, 90, 220), width=1)
            draw.text((x + 4, y + cell + 2), label, fill=(0, 0, 0), font=font)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path


def _thumb_box(box, size: tuple[int, int], left: int, top: int) -> tuple[float, float, float, float]:
    """``box`` of an image of ``size`` where ``_thumb`` draws it (padded to a square, scaled) at (left, top)."""
    side = max(size)
    scale = THUMB / side
    dx, dy = (side - size[0]) / 2, (side - size[1]) / 2
    x0, y0, x1, y1 = box
    return (left + (x0 + dx) * scale, top + (y0 + dy) * scale, left + (x1 + dx) * scale, top + (y1 + dy) * scale)
