"""From a fused score to the probability that a pair is a conflict, and how well such probabilities are calibrated.
Pure functions over numpy arrays.

The fused score (``fusion.py``) orders one query's candidates; it is not comparable across queries, and a watch
report reads alerts of many filings and marks together. An isotonic (monotone) map fitted on labelled pairs (a
benchmark's query and a gallery mark in its relevant set = conflict, other pairs = not) turns it into a
probability-like ``conflict_score``. The map is kept as its knots and applied by linear interpolation, so serving
needs no scikit-learn; fitting does (``fit_isotonic``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TIERS = ("low", "medium", "high")


@dataclass(frozen=True)
class Calibration:
    """A monotone map from fused score to conflict probability, as knots (x ascending, y non-decreasing)."""

    x: tuple[float, ...]
    y: tuple[float, ...]

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        """Probabilities of ``scores`` (NaN stays NaN); constant beyond the outer knots."""
        scores = np.asarray(scores, dtype=np.float64)
        out = np.interp(np.nan_to_num(scores, nan=0.0), self.x, self.y)
        return np.where(np.isnan(scores), np.nan, out)

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps({"x": list(self.x), "y": list(self.y)}))

    @classmethod
    def load(cls, path: Path) -> Calibration:
        data = json.loads(Path(path).read_text())
        return cls(tuple(data["x"]), tuple(data["y"]))


def fit_isotonic(scores: np.ndarray, labels: np.ndarray) -> Calibration:
    """The isotonic regression of ``labels`` (1 = conflict) on ``scores``, as knots."""
    from sklearn.isotonic import IsotonicRegression

    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels, dtype=np.float64)
    keep = ~np.isnan(scores)
    if keep.sum() < 2 or len(np.unique(labels[keep])) < 2:
        raise ValueError("calibration needs scored pairs of both kinds (conflicts and not)")
    model = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip").fit(scores[keep],
                                                                                              labels[keep])
    return Calibration(tuple(float(v) for v in model.X_thresholds_), tuple(float(v) for v in model.y_thresholds_))


def reliability(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Per equal-width bin of predicted probability: its pairs, mean prediction and observed conflict rate."""
    probs, labels = np.asarray(probs, dtype=np.float64), np.asarray(labels, dtype=np.float64)
    keep = ~np.isnan(probs)
    probs, labels = probs[keep], labels[keep]
    which = np.minimum((probs * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        inside = which == b
        n = int(inside.sum())
        rows.append({"low": b / bins, "high": (b + 1) / bins, "pairs": n,
                     "predicted": float(probs[inside].mean()) if n else float("nan"),
                     "observed": float(labels[inside].mean()) if n else float("nan")})
    return rows


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """Pair-weighted mean |observed - predicted| over the bins of ``reliability``."""
    rows = [r for r in reliability(probs, labels, bins) if r["pairs"]]
    total = sum(r["pairs"] for r in rows)
    return float(sum(r["pairs"] * abs(r["observed"] - r["predicted"]) for r in rows) / total) if total else float("nan")


def tiers(probs: np.ndarray, medium: float, high: float) -> np.ndarray:
    """"high" at or above ``high``, "medium" at or above ``medium``, else "low" (NaN: low)."""
    probs = np.nan_to_num(np.asarray(probs, dtype=np.float64), nan=-1.0)
    return np.array(TIERS, dtype=object)[(probs >= medium).astype(int) + (probs >= high).astype(int)]


__all__ = ["Calibration", "TIERS", "expected_calibration_error", "fit_isotonic", "reliability", "tiers"]
