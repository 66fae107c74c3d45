"""Terminal rendering of search results and evaluation numbers (rich tables)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from logo_similarity.retrieval import SearchResult


def results_table(results: list[SearchResult], title: str = "results") -> Table:
    table = Table(title=title, title_justify="left")
    parts = [c for c in ("image", "spatial", "text", "vienna", "composite") if any(r.components.get(c) is not None for r in results)]
    for column, justify in (("rank", "right"), ("score", "right"), *((p, "right") for p in parts), ("name", "left"), ("file", "left")):
        table.add_column(column, justify=justify)
    for r in results:
        shown = [_fmt(r.components.get(p)) for p in parts]
        table.add_row(str(r.rank), f"{r.score:.3f}", *shown, r.text or "-", r.key)
    return table


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def metrics_table(report: dict[str, Any], title: str = "evaluation") -> Table:
    tasks = report["tasks"]
    columns = sorted({c for row in tasks.values() for c in row if c != "n"}, key=_metric_order)
    table = Table(title=title, title_justify="left")
    table.add_column("task")
    table.add_column("n", justify="right")
    for column in columns:
        table.add_column(column, justify="right")
    for task, row in tasks.items():
        table.add_row(task, str(row["n"]), *(f"{row[c]:.4f}" if c in row else "-" for c in columns))
    return table


def _metric_order(name: str) -> tuple[int, int]:
    kind, _, k = name.partition("@")
    return ({"recall": 0, "map": 1}.get(kind, 2), int(k) if k.isdigit() else 0)
