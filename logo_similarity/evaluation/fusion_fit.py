"""Fit the stage-2 fusion on a validation benchmark: a grid over weights, neutral points and variants.

The objective is the mean over tasks of mAP@100 (tasks weigh equally, whatever their query counts). To show
how much of the gain is fitting noise, the grid is searched on half of the queries (even positions in the
benchmark's order) and every row is also reported on the other half. Only what the benchmark can measure
is fitted: the image, spatial and OCR-text terms (its queries carry no typed name and no Vienna codes).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from logo_similarity.evaluation.rerank_eval import Collected, rankings, task_report

GRID = {
    "spatial": (0.0, 0.1, 0.2, 0.3),
    "spatial_neutral": (0.0, 0.2),
    "ocr_text": (0.1, 0.2, 0.3, 0.5, 0.8),
    "ocr_text_neutral": (0.3, 0.4, 0.5, 0.6),
    "image_variant": ("image", "image_qe5"),
}


@dataclass
class Trial:
    name: str
    weights: dict[str, float]
    neutral: dict[str, float]
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
        ranked = rankings(data, depth, trial.weights, trial.use, trial.neutral)
        setattr(trial, label, task_report(data, ranked, ks, map_at))
    return trial


def fit_weights(collected: Collected, base_weights: dict[str, float], base_neutral: dict[str, float]):
    """Best grid point on the fitting half, and the named rows of the ablation table (scored on all parts)."""
    fit_half, held = split(collected)
    best: Trial | None = None
    for spatial, s_neutral, ocr, o_neutral, image_v in itertools.product(*GRID.values()):
        weights = {**base_weights, "image": 1.0, "spatial": spatial, "ocr_text": ocr}
        neutral = {**base_neutral, "image": 0.0, "spatial": s_neutral, "ocr_text": o_neutral}
        trial = score_trial(Trial("grid", weights, neutral, {"image": image_v}), {"fit": fit_half})
        if best is None or trial.objective > best.objective + 1e-9:
            best = trial
    parts = {"fit": fit_half, "held_out": held, "all": collected}
    only = {"image": 1.0, "spatial": 0.0, "text": 0.0, "ocr_text": 0.0, "vienna": 0.0}
    b, n = best.weights, best.neutral
    spatial = {**only, "spatial": b["spatial"] or 0.1}
    rows = [
        Trial("stage 1 (image)", only, n, {}),
        Trial("+ spatial (verified)", spatial, n, {"spatial": "spatial"}),
        Trial("+ spatial (patch max)", spatial, n, {"spatial": "spatial_patch_max"}),
        Trial("+ OCR text", {**only, "ocr_text": b["ocr_text"]}, n, {}),
        Trial("+ alpha-QE (5)", only, n, {"image": "image_qe5"}),
        Trial("+ alpha-QE (10)", only, n, {"image": "image_qe10"}),
        Trial("full fusion (fitted)", b, n, best.use),
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
