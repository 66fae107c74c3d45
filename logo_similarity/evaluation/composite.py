"""LogoBench-Composite scored per style pair: which style the relevant composite has (device- or word-dominant)
and which the query has, read from ``composites.jsonl`` and the ``style(...)`` at the end of each query's
``transform`` (see ../shared/logobench-composite/README.md). For analysis only: nothing here reaches a ranking.

Labels: ``device: device -> word`` (task, relevant composite's style -> query's style); ``device_plain`` queries
have no words, so theirs is ``device_plain: -> word-dominant``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from logo_similarity.evaluation.ranking import QuerySet, task_metrics

_STYLE = re.compile(r"style\((device|word)(?:->(device|word))?\)\s*$")
_SHORT = {"device-dominant": "device", "word-dominant": "word"}


def composite_styles(bench: Path) -> dict[str, str] | None:
    """Style ("device" or "word") of every composite (gallery id or qid); None when ``bench`` has none."""
    path = Path(bench) / "composites.jsonl"
    if not path.is_file():
        return None
    with open(path, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return {row["id"]: _SHORT.get(row["style"], row["style"]) for row in rows}


def style_pair(query: dict[str, Any], styles: dict[str, str]) -> str | None:
    """The query's label (see the module), or None when it has no style pair."""
    relevant = next((styles[r] for r in query["relevant"] if r in styles), None)
    task = query["task"]
    if task == "device_plain":
        return f"device_plain: -> {relevant}-dominant" if relevant else None
    match = _STYLE.search(query.get("transform") or "")
    own = styles.get(query["qid"]) or (match.group(2) or match.group(1) if match else None)
    if task == "device" and match and match.group(2):
        relevant = match.group(1)
    if relevant is None or own is None:
        return None
    return f"{task}: {relevant} -> {own}"


def by_style(bench: Path, query_rows: list[dict[str, Any]], rankings: list[list[int]], relevant: list[set[int]],
             ignore: list[set[int]], ks, map_at: int) -> dict[str, dict[str, float]] | None:
    """Metrics per style pair (None when the benchmark has no composites): the queries relabelled and scored
    by the same ``task_metrics`` as the tasks."""
    styles = composite_styles(bench)
    if styles is None:
        return None
    labels = [style_pair(q, styles) for q in query_rows]
    keep = [i for i, label in enumerate(labels) if label]
    if not keep:
        return None
    queries = QuerySet(None, [labels[i] for i in keep], [relevant[i] for i in keep], [ignore[i] for i in keep])
    return task_metrics([rankings[i] for i in keep], queries, ks, map_at)


def format_styles(report: dict[str, dict[str, float]]) -> str:
    """The per-style table as markdown (queries, R@1, R@10, mAP@100)."""
    lines = ["| task: composite style -> query style | queries | R@1 | R@10 | mAP@100 |", "|---|---|---|---|---|"]
    for label in sorted(report, key=lambda s: (["device:", "word:", "device_plain:"].index(s.split()[0]), s)):
        row = report[label]
        lines.append(f"| {label} | {int(row['n'])} | {row['recall@1']:.3f} | "
                     f"{row['recall@10']:.3f} | {row['map@100']:.3f} |")
    return "\n".join(lines)
