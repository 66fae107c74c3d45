"""Fit the stage-2 fusion on validation benchmarks: weights, neutral points, the ``either`` blend and variants.

The objective is the mean over tasks of R@1 and mAP@100 (tasks weigh equally, whatever their query counts), over every
benchmark collected (LogoBench's and LogoBench-Composite's tasks together). To show how much of the gain is
fitting noise, the fit uses half of the queries (even positions in each benchmark's order) and every row is
also reported on the other half. Only what the benchmarks can measure is fitted: the image, spatial, figure and
OCR-text terms (their queries carry no typed name and no Vienna codes).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from logo_similarity.evaluation.rerank_eval import Collected, rankings, task_report

GRID = {  # the values each fitted parameter may take; the fit walks them one parameter at a time
    "spatial": (0.0, 0.1, 0.2, 0.3),
    "spatial_neutral": (0.0, 0.2),
    "ocr_text": (0.3, 0.5, 0.8, 1.2, 1.6, 1.8, 2.0, 2.2, 2.4, 3.2, 4.0),
    "ocr_text_neutral": (0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7),
    "figure": (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5),
    "figure_neutral": (0.0, 0.2, 0.3, 0.4, 0.5, 0.6),
    "either": (0.0, 0.25, 0.5, 0.75, 0.9, 1.0),
    "image_variant": ("image", "image_qe5"),
}


@dataclass
class Trial:
    name: str
    weights: dict[str, float]
    neutral: dict[str, float]
    use: dict[str, str]
    either: float = 0.0
    fit: dict[str, Any] | None = None
    held_out: dict[str, Any] | None = None
    all: dict[str, Any] | None = None

    @property
    def objective(self) -> float:
        return objective(self.fit) if self.fit else float("nan")


def mean_map(report: dict[str, dict[str, float]], key: str = "map@100") -> float:
    return float(np.mean([row[key] for row in report.values()]))


def objective(report: dict[str, dict[str, float]]) -> float:
    """What the fit maximises: the mean over tasks of R@1 and mAP@100 (tasks weigh equally). R@1 counts
    beside mAP because an examiner reads from the top, and a task with one relevant mark (a sound-alike name)
    is judged by it."""
    return float(np.mean([(row["recall@1"] + row["map@100"]) / 2 for row in report.values()]))


def split(collected: Collected) -> tuple[Collected, Collected]:
    even = Collected([q for i, q in enumerate(collected.queries) if i % 2 == 0], collected.ocr_named, collected.files)
    odd = Collected([q for i, q in enumerate(collected.queries) if i % 2 == 1], collected.ocr_named, collected.files)
    return even, odd


def merged(parts: list[Collected]) -> Collected:
    """Several benchmarks' collections as one (their task names differ, so tasks stay apart)."""
    return Collected([q for c in parts for q in c.queries], sum(c.ocr_named for c in parts), sum(c.files for c in parts))


def score_trial(trial: Trial, parts: dict[str, Collected], ks=(1, 10, 100), map_at: int = 100) -> Trial:
    depth = max(max(ks), map_at)
    for label, data in parts.items():
        ranked = rankings(data, depth, trial.weights, trial.use, trial.neutral, trial.either)
        setattr(trial, label, task_report(data, ranked, ks, map_at))
    return trial


def _trial(point: dict[str, Any], base_weights: dict[str, float], base_neutral: dict[str, float],
           name: str = "grid") -> Trial:
    weights = {**base_weights, "image": 1.0, "spatial": point["spatial"], "ocr_text": point["ocr_text"],
               "figure": point["figure"]}
    neutral = {**base_neutral, "image": 0.0, "spatial": point["spatial_neutral"],
               "ocr_text": point["ocr_text_neutral"], "figure": point["figure_neutral"]}
    return Trial(name, weights, neutral, {"image": point["image_variant"]}, point["either"])


def start_point(weights: dict[str, float], neutral: dict[str, float], either: float, image: str = "image") -> dict:
    """The grid point of a configured fusion (where the fit starts from)."""
    return {"spatial": weights.get("spatial", 0.0), "spatial_neutral": neutral.get("spatial", 0.0),
            "ocr_text": weights.get("ocr_text", weights.get("text", 0.0)),
            "ocr_text_neutral": neutral.get("ocr_text", neutral.get("text", 0.0)),
            "figure": weights.get("figure", 0.0), "figure_neutral": neutral.get("figure", 0.0), "either": either,
            "image_variant": image}


def keeps(trial: Trial, reference: Trial, guard: set[str], tolerance: float) -> bool:
    """Whether ``trial`` loses at most ``tolerance`` against ``reference`` on every metric of the ``guard`` tasks
    (on the fitting half)."""
    return all(trial.fit[t][m] >= reference.fit[t][m] - tolerance
               for t in guard if t in reference.fit for m in reference.fit[t] if m != "n")


def fit_weights(collections: list[Collected], base_weights: dict[str, float], base_neutral: dict[str, float],
                either: float = 0.0, rounds: int = 3, grid: dict[str, tuple] | None = None,
                guard: set[str] = frozenset(), tolerance: float = 0.005):
    """Best point on the fitting half, found one parameter at a time over ``grid`` (coordinate ascent from the
    configured fusion, ``rounds`` passes or until nothing changes), and the named rows of the ablation table
    (scored on all parts). The objective (``objective``) covers every task of every benchmark collected; a
    point that loses more than ``tolerance`` on any metric of a ``guard`` task against the configured fusion
    is not taken (a benchmark the change must not hurt)."""
    grid = grid or GRID
    halves = [split(c) for c in collections]  # each benchmark split by its own query order
    fit_half, held = merged([h[0] for h in halves]), merged([h[1] for h in halves])
    collected = merged(collections)
    point = start_point(base_weights, base_neutral, either)
    best = reference = score_trial(_trial(point, base_weights, base_neutral), {"fit": fit_half})
    for _ in range(rounds):
        moved = False
        for param, values in grid.items():
            for value in values:
                if value == point[param]:
                    continue
                trial = score_trial(_trial({**point, param: value}, base_weights, base_neutral), {"fit": fit_half})
                if trial.objective > best.objective + 1e-6 and keeps(trial, reference, guard, tolerance):
                    best, point, moved = trial, {**point, param: value}, True
        if not moved:
            break
    parts = {"fit": fit_half, "held_out": held, "all": collected}
    only = {"image": 1.0, "spatial": 0.0, "text": 0.0, "ocr_text": 0.0, "vienna": 0.0, "figure": 0.0}
    b, n = best.weights, best.neutral
    rows = [
        Trial("stage 1 (image)", only, n, {}),
        Trial("+ spatial (verified)", {**only, "spatial": b["spatial"] or 0.1}, n, {"spatial": "spatial"}),
        Trial("+ OCR text", {**only, "ocr_text": b["ocr_text"]}, n, {}),
        Trial("before: configured fusion", dict(base_weights), dict(base_neutral), {}, either),
        Trial("configured, no figure", {**base_weights, "figure": 0.0}, dict(base_neutral), {}, either),
        Trial("fitted, no figure", {**b, "figure": 0.0}, n, best.use, best.either),
        Trial("fitted, sum only (either 0)", b, n, best.use, 0.0),
        Trial("full fusion (fitted)", b, n, best.use, best.either),
    ]
    return best, [score_trial(t, parts) for t in rows]


def format_table(rows: list[Trial], label: str = "all", tasks: list[str] | None = None) -> str:
    tasks = sorted(tasks or getattr(rows[0], label))
    head = "| row | " + " | ".join(f"{t} R@1 | R@10 | mAP@100" for t in tasks) + " |"
    lines = [head, "|" + "---|" * (1 + 3 * len(tasks))]
    for row in rows:
        report = getattr(row, label)
        cells = [f"{report[t]['recall@1']:.3f} | {report[t]['recall@10']:.3f} | {report[t]['map@100']:.3f}" for t in tasks]
        lines.append(f"| {row.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def style_table(rows: list[Trial], data: Collected, ks=(1, 10, 100), map_at: int = 100) -> str:
    """Every row scored per style pair (the ``group`` of each query, e.g. ``device: word -> device``): a markdown
    table with one line per row and group."""
    grouped = Collected([q for q in data.queries if q.group], data.ocr_named, data.files)
    if not grouped.queries:
        return ""
    relabelled = Collected([replace(q, task=q.group) for q in grouped.queries], data.ocr_named, data.files)
    depth = max(max(ks), map_at)
    lines = ["| row | group | n | R@1 | R@10 | mAP@100 |", "|---|---|---|---|---|---|"]
    for row in rows:
        ranked = rankings(relabelled, depth, row.weights, row.use, row.neutral, row.either)
        for group, m in task_report(relabelled, ranked, ks, map_at).items():
            lines.append(f"| {row.name} | {group} | {int(m['n'])} | {m['recall@1']:.3f} | {m['recall@10']:.3f} | "
                         f"{m['map@100']:.3f} |")
    return "\n".join(lines)
