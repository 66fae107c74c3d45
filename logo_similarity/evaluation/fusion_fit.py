"""Fit the stage-2 fusion weights on a validation benchmark: a grid over weights and component variants.

The objective is the mean over tasks of mAP@100 (tasks weigh equally, whatever their query counts). To show
how much of the gain is fitting noise, the grid is searched on half of the queries (even positions in the
benchmark's order) and every row is also reported on the other half.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from logo_similarity.evaluation.rerank_eval import Collected, rankings, task_report

GRID = {
    "spatial": (0.0, 0.1, 0.25, 0.5, 1.0),
    "ocr_text": (0.0, 0.1, 0.25, 0.5, 1.0),
    "image_variant": ("image", "image_qe5", "image_qe10"),
    "spatial_variant": ("spatial", "spatial_patch_max"),
}


@dataclass
class Trial:
    name: str
    weights: dict[str, float]
    use: dict[str, str]
    fit: dict[str, Any] | None = None
    held_out: dict[str, Any] | None = None
    all: dict[str, Any] | None = None

    @property
    def objective(self) -> float:
        return mean_map(self.fit) if self.fit else float("nan")


def mean_map(report: dict[str, dict[str, float]], key: str = "map@100") -> float:
    return float(np.mean([row[key] for row in report.values()]))


def split(collected: Collected) -> tuple[Collected, Collected]:
    even = Collected([q for i, q in enumerate(collected.queries) if i % 2 == 0], collected.ocr_named, collected.files)
    odd = Collected([q for i, q in enumerate(collected.queries) if i % 2 == 1], collected.ocr_named, collected.files)
    return even, odd


def score_trial(trial: Trial, parts: dict[str, Collected], ks=(1, 10, 100), map_at: int = 100) -> Trial:
    depth = max(max(ks), map_at)
    for label, data in parts.items():
        setattr(trial, label, task_report(data, rankings(data, depth, trial.weights, trial.use), ks, map_at))
    return trial


def fit_weights(collected: Collected, base: dict[str, float]) -> tuple[Trial, list[Trial]]:
    """Best grid point on the fitting half, and the named rows of the ablation table (scored on all halves)."""
    fit_half, held = split(collected)
    best: Trial | None = None
    for spatial, ocr, image_v, spatial_v in itertools.product(*GRID.values()):
        weights = {**base, "image": 1.0, "spatial": spatial, "ocr_text": ocr}
        trial = score_trial(Trial("grid", weights, {"image": image_v, "spatial": spatial_v}), {"fit": fit_half})
        if best is None or trial.objective > best.objective + 1e-9:
            best = trial
    parts = {"fit": fit_half, "held_out": held, "all": collected}
    only = {"image": 1.0, "spatial": 0.0, "text": 0.0, "ocr_text": 0.0, "vienna": 0.0}
    b = best.weights
    rows = [
        Trial("stage 1 (image)", only, {}),
        Trial("+ spatial (verified)", {**only, "spatial": b["spatial"] or 0.25}, {"spatial": "spatial"}),
        Trial("+ spatial (patch max)", {**only, "spatial": b["spatial"] or 0.25}, {"spatial": "spatial_patch_max"}),
        Trial("+ OCR text", {**only, "ocr_text": b["ocr_text"] or 0.25}, {}),
        Trial("+ alpha-QE (5)", only, {"image": "image_qe5"}),
        Trial("+ alpha-QE (10)", only, {"image": "image_qe10"}),
        Trial("full fusion (fitted)", b, best.use),
    ]
    return best, [score_trial(t, parts) for t in rows]


def format_table(rows: list[Trial], label: str = "all") -> str:
    tasks = sorted(getattr(rows[0], label))
    head = "| row | " + " | ".join(f"{t} R@1 | R@10 | mAP@100" for t in tasks) + " |"
    lines = [head, "|" + "---|" * (1 + 3 * len(tasks))]
    for row in rows:
        report = getattr(row, label)
        cells = [f"{report[t]['recall@1']:.3f} | {report[t]['recall@10']:.3f} | {report[t]['map@100']:.3f}" for t in tasks]
        lines.append(f"| {row.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
