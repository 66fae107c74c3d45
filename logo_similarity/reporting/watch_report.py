"""A watch list's report: what a lawyer files or forwards. HTML (printable: each watched mark and filing side by side
with the matched regions, the components, the names compared, the opposition deadline and tier), CSV and JSON,
each with its provenance (model, the marks' digest, settings digest, run, time made).

Alerts are ordered by tier (high first), then by opposition deadline (soonest first; none last), then by conflict
score: within what matters most, what runs out first. Suppressed pairs are listed apart with the rule that
suppressed them. The three files are written together, alert by alert, in one pass over a source that reads the
alerts in that order (a large run leaves 200,000), so memory does not grow with the run.
"""

from __future__ import annotations

import csv
import html
import json
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Protocol, TextIO

from logo_similarity.preprocessing import ImageLoadError
from logo_similarity.reporting.sheet import _data_uri, _match_svg
from logo_similarity.utils.fs import atomic_text_writer

TIER_ORDER = {"high": 0, "medium": 1, "low": 2, None: 3}
CSV_COLUMNS = ("alert_id", "state", "tier", "conflict_score", "score", "opposition_deadline", "mark_key", "mark_name",
               "filing_key", "filing_name", "application_number", "published", "office", "applicant", "nice_shared",
               "image", "spatial", "text", "vienna", "figure", "names_compared", "suppressed_by")
FORMATS = ("html", "csv", "json")
PICTURES_KEPT = 4096  # thumbnails a report keeps encoded (~8 KB each as data URIs)
HTML_TIERS = ("high", "medium")  # a printable page of what a reviewer reads first; every alert is in CSV and JSON


def report_key(tier: str | None, deadline: str | None, conflict: float | None, score: float, alert_id: int) -> tuple:
    """Tier, then opposition deadline (soonest first, none last), then conflict score, then fused score."""
    return (TIER_ORDER.get(tier, 3), deadline is None, deadline or "", -(conflict or 0.0), -score, alert_id)


def report_order(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(alerts, key=lambda a: report_key(a.get("tier"), (a.get("filing") or {}).get("opposition_deadline"),
                                                   a.get("conflict_score"), a["score"], a["id"]))


class OrderedAlerts(Protocol):
    """Alerts in report order, with their tiers (known before the alerts are read: the page counts them first)."""

    tiers: list[str | None]

    def __iter__(self) -> Iterator[dict[str, Any]]: ...


class ListedAlerts:
    """Alerts held in memory (a small report, a test), put in report order."""

    def __init__(self, alerts: list[dict[str, Any]]) -> None:
        self.alerts = report_order(alerts)
        self.tiers = [a.get("tier") for a in self.alerts]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.alerts)


def _names(a: dict[str, Any]) -> str:
    source = (a.get("explanation") or {}).get("text_source") or {}
    if not source.get("candidate_text") or not source.get("query_text"):
        return ""
    return f"{source['query_text']} ({source.get('query')}) ~ {source['candidate_text']} ({source.get('candidate')})"


class CsvWriter:
    """One row per alert, under a comment line with the provenance and the header."""

    def __init__(self, out: TextIO, provenance: dict[str, Any]) -> None:
        out.write("# " + json.dumps(provenance, sort_keys=True) + "\n")
        self.rows = csv.writer(out)
        self.rows.writerow(CSV_COLUMNS)

    def add(self, a: dict[str, Any], tier: str | None) -> None:
        mark, filing, comps = a.get("mark") or {}, a.get("filing") or {}, a.get("components") or {}
        self.rows.writerow([a["id"], a["state"], a.get("tier") or "", _num(a.get("conflict_score")), _num(a["score"]),
                            filing.get("opposition_deadline") or "", mark.get("key"), mark.get("name") or "",
                            filing.get("key"), filing.get("name") or "", filing.get("application_number") or "",
                            filing.get("published") or "", filing.get("office") or "", filing.get("owner") or "",
                            ";".join(str(c) for c in a.get("nice_shared") or ()),
                            *(_num(comps.get(c)) for c in ("image", "spatial", "text", "vienna", "figure")),
                            _names(a), a.get("suppressed_by") or ""])

    def end(self) -> None:
        pass


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _uri(path: str | None) -> str | None:
    from logo_similarity.preprocessing import load_image

    try:
        return _data_uri(load_image(path)) if path else None
    except (ImageLoadError, OSError):
        return None


class HtmlWriter:
    """The printable page: the alerts of ``tiers`` with both pictures (the others are counted; the CSV and JSON
    hold every alert)."""

    def __init__(self, out: TextIO, title: str, tiers_in_order: list[str | None], suppressed: list[dict[str, Any]],
                 provenance: dict[str, Any], tiers: tuple[str, ...] = HTML_TIERS) -> None:
        self.out, self.tiers, self.suppressed = out, tiers, suppressed
        self._pictures: OrderedDict[str | None, str | None] = OrderedDict()
        shown = sum(1 for t in tiers_in_order if self.shows(t))
        left = len(tiers_in_order) - shown
        facts = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in provenance.items())
        out.write(
            "<!doctype html><html><head><meta charset='utf-8'><title>" + html.escape(title) + "</title><style>"
            "body{font-family:sans-serif;margin:24px}table{border-collapse:collapse;width:100%}"
            "td,th{border:1px solid #bbb;padding:6px;vertical-align:top;font-size:13px;text-align:left}"
            "tr{page-break-inside:avoid}.high{background:#fde2e1}.medium{background:#fff4d6}"
            "dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px;font-size:12px}dd{margin:0}"
            "img{border:1px solid #ccc;background:#fff}@media print{body{margin:0}}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><dl>{facts}</dl>"
            f"<p>{shown} alerts ({', '.join(tiers)} tier), ordered by tier, then opposition deadline, then "
            f"conflict score." + (f" {left} alerts of lower tiers are in report.csv and report.json." if left else "")
            + "</p>"
            "<table><thead><tr><th>#</th><th>watched mark | filing (matched regions)</th><th>tier</th>"
            "<th>why</th><th>filing</th></tr></thead><tbody>")

    def shows(self, tier: str | None) -> bool:
        return tier in self.tiers or tier is None

    def add(self, a: dict[str, Any], tier: str | None) -> None:
        if self.shows(tier):
            self.out.write(_html_alert(a, self._picture))

    def _picture(self, path: str | None) -> str | None:
        """A file's thumbnail as a data URI, each file encoded once a report (a watched mark is in many alerts:
        3,259 alerts of the 1,000-mark week had 6,518 pictures to encode); the last PICTURES_KEPT kept."""
        if path in self._pictures:
            self._pictures.move_to_end(path)
            return self._pictures[path]
        uri = self._pictures[path] = _uri(path)
        if len(self._pictures) > PICTURES_KEPT:
            self._pictures.popitem(last=False)
        return uri

    def end(self) -> None:
        kept_apart = "".join(
            f"<li>{html.escape(str(a['mark'].get('key')))} ~ {html.escape(str(a['filing'].get('key')))}: "
            f"{html.escape(str(a.get('suppressed_by')))}</li>" for a in self.suppressed)
        self.out.write("</tbody></table>" + (f"<h2>Suppressed by exception rules ({len(self.suppressed)})</h2>"
                                             f"<ul>{kept_apart}</ul>" if self.suppressed else "") + "</body></html>")


class JsonWriter:
    """``{"provenance", "alerts", "suppressed"}``, the alerts written one by one, an alert a line."""

    def __init__(self, out: TextIO, suppressed: list[dict[str, Any]], provenance: dict[str, Any]) -> None:
        self.out, self.suppressed, self.count = out, suppressed, 0
        out.write('{"provenance": ' + json.dumps(provenance, indent=1, default=str) + ',\n"alerts": [')

    def add(self, a: dict[str, Any], tier: str | None) -> None:
        # one line per alert: indented, a 200,000-alert report was a third whitespace and slower to write
        self.out.write((",\n" if self.count else "\n") + json.dumps(a, separators=(",", ":"), default=str))
        self.count += 1

    def end(self) -> None:
        self.out.write('\n],\n"suppressed": ' + json.dumps(self.suppressed, indent=1, default=str) + "}\n")


def _html_alert(a: dict[str, Any], thumbnail: Callable[[str | None], str | None]) -> str:
    """One alert's row; ``thumbnail(path)``: a file's picture as a data URI (or None)."""
    mark, filing = a.get("mark") or {}, a.get("filing") or {}
    mark_uri, filing_uri = thumbnail(mark.get("file")), thumbnail(filing.get("file"))
    pairs = (a.get("explanation") or {}).get("spatial_pairs") or []
    # matched points run from the watched mark (left) to the filing (right): the pairs are (filing, mark) points
    picture = (_match_svg(mark_uri, filing_uri, [[cx, cy, qx, qy] for qx, qy, cx, cy in pairs])
               if mark_uri and filing_uri else "(image unavailable)")
    comps = " · ".join(f"{k} {v:.2f}" for k, v in (a.get("components") or {}).items() if v is not None)
    names = _names(a)
    conflict = a.get("conflict_score")
    tier = a.get("tier") or "-"
    return (
        f"<tr class='{html.escape(tier)}'><td>{a['id']}<br>{html.escape(a['state'])}</td><td>{picture}<br>"
        f"{html.escape(str(mark.get('name') or mark.get('key')))} | {html.escape(str(filing.get('name') or filing.get('key')))}"
        f"</td><td><b>{html.escape(tier)}</b><br>conflict {'' if conflict is None else f'{conflict:.2f}'}"
        f"<br>score {a['score']:.3f}</td><td>{html.escape(comps)}"
        + (f"<br>names: {html.escape(names)}" if names else "")
        + (f"<br>Nice classes shared: {', '.join(map(str, a['nice_shared']))}" if a.get("nice_shared") else "")
        + f"</td><td>{html.escape(str(filing.get('key')))}<br>published {html.escape(str(filing.get('published') or '-'))}"
        f"<br><b>oppose by {html.escape(str(filing.get('opposition_deadline') or '-'))}</b>"
        f"<br>{html.escape(str(filing.get('owner') or ''))}</td></tr>")


def write_report(out_dir: Path, title: str, alerts: OrderedAlerts | list[dict[str, Any]],
                 suppressed: list[dict[str, Any]], provenance: dict[str, Any],
                 formats: tuple[str, ...] = FORMATS) -> dict[str, Path]:
    """``report.html``, ``report.csv`` and ``report.json`` (those of ``formats``) in ``out_dir``, written in one pass
    over the alerts in report order (a list is put in it; an ``OrderedAlerts`` source reads them in it), each file
    whole or not at all."""
    ordered = ListedAlerts(alerts) if isinstance(alerts, list) else alerts
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {fmt: out_dir / f"report.{fmt}" for fmt in formats}
    with ExitStack() as files:
        opened = {fmt: files.enter_context(atomic_text_writer(path)) for fmt, path in paths.items()}
        makers = {"csv": lambda fh: CsvWriter(fh, provenance),
                  "html": lambda fh: HtmlWriter(fh, title, ordered.tiers, suppressed, provenance),
                  "json": lambda fh: JsonWriter(fh, suppressed, provenance)}
        writers = [makers[fmt](fh) for fmt, fh in opened.items()]
        for alert, tier in zip(ordered, ordered.tiers):
            for writer in writers:
                writer.add(alert, tier)
        for writer in writers:
            writer.end()
    return paths


__all__ = ["FORMATS", "HTML_TIERS", "CsvWriter", "HtmlWriter", "JsonWriter", "ListedAlerts", "OrderedAlerts",
           "report_key", "report_order", "write_report"]
