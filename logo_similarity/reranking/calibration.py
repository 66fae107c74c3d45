"""From a fused score to the probability that a pair is a conflict, and how well such probabilities are calibrated.
Pure functions over numpy arrays.

The fused score (``fusion.py``) orders one query's candidates; it is not comparable across queries, and a watch
report reads alerts of many filings and marks together. Its scale also depends on the index's embedding space:
an index of enough marks whitens its vectors with its own PCA (unrelated pairs near cosine 0), a smaller one
(a typical watch list) keeps raw embeddings (unrelated pairs near .6); each space has its own map. An isotonic (monotone) map fitted on labelled pairs (a
benchmark's query and a gallery mark in its relevant set = conflict, other pairs = not) turns it into a
probability-like ``conflict_score``. The map is kept as its knots and applied by linear interpolation, so serving
needs no scikit-learn; fitting does (``fit_isotonic``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from loguru import logger

from logo_similarity.config import CalibrationSettings, RerankSettings

TIERS = ("low", "medium", "high")
SPACES = ("whitened", "raw")  # the image score's space: an index's own PCA whitening, or the raw embedding
PACKAGED = {space: Path(__file__).resolve().parent.parent / "models" / f"conflict-calibration-{space}.json"
            for space in SPACES}


class CalibrationError(RuntimeError):
    """The calibration file is missing or unreadable."""


@dataclass(frozen=True)
class Calibration:
    """A monotone map from fused score to conflict probability, as knots (x ascending, y non-decreasing), with
    the fusion it was fitted under (``fusion``: weights, neutral, either): a fused score of another fusion is on
    another scale, and ``fits`` says so."""

    x: tuple[float, ...]
    y: tuple[float, ...]
    fusion: dict[str, Any] = field(default_factory=dict, compare=False)
    provenance: dict[str, Any] = field(default_factory=dict, compare=False)

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        """Probabilities of ``scores`` (NaN stays NaN); constant beyond the outer knots."""
        scores = np.asarray(scores, dtype=np.float64)
        out = np.interp(np.nan_to_num(scores, nan=0.0), self.x, self.y)
        return np.where(np.isnan(scores), np.nan, out)

    def fits(self, weights: dict[str, float], neutral: dict[str, float], either: float) -> bool:
        """Whether scores fused with these settings are on the scale this map was fitted on."""
        return not self.fusion or self.fusion == fusion_key(weights, neutral, either)

    def save(self, path: Path) -> None:
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps({"x": list(self.x), "y": list(self.y), "fusion": self.fusion,
                                   "provenance": self.provenance}, indent=1) + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Calibration:
        try:
            data = json.loads(Path(path).read_text())
            x, y = tuple(float(v) for v in data["x"]), tuple(float(v) for v in data["y"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CalibrationError(f"cannot read the conflict-score calibration {path}: {exc}") from exc
        if len(x) < 2 or len(x) != len(y) or any(b < a for a, b in zip(x, x[1:])):
            raise CalibrationError(f"{path}: knots must be two or more, x ascending")
        return cls(x, y, data.get("fusion") or {}, data.get("provenance") or {})


def fusion_key(weights: dict[str, float], neutral: dict[str, float], either: float) -> dict[str, Any]:
    """The fusion settings a calibration belongs to, in a form that compares equal when they are the same."""
    return {"weights": {k: round(float(v), 6) for k, v in sorted(weights.items())},
            "neutral": {k: round(float(v), 6) for k, v in sorted(neutral.items())}, "either": round(float(either), 6)}


@lru_cache(maxsize=8)
def load_calibration(path: str | None = None, space: str = "whitened") -> Calibration:
    """The calibration at ``path``, or the one shipped in the package for image scores of ``space``."""
    return Calibration.load(Path(path) if path else PACKAGED[space])


def calibration_of(calibration: CalibrationSettings, whitened: bool) -> Calibration:
    """The map for an index whose vectors are PCA-whitened (its own projection) or raw (too few items to fit one):
    the image cosine, and so the fused score, is on another scale in each (unrelated pairs near 0, or near .6)."""
    space = "whitened" if whitened else "raw"
    return load_calibration(calibration.file if whitened else calibration.raw_file, space)


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


def served_calibration(calibration: CalibrationSettings, rerank: RerankSettings,
                       whitened: bool = True) -> Calibration | None:
    """The map that turns fused scores of an index with (``whitened``) or without its own PCA into conflict
    probabilities; None when it was fitted under another fusion than ``rerank``'s (its probabilities would be of
    another scale: said once in the log)."""
    fitted = calibration_of(calibration, whitened)
    if not fitted.fits(rerank.weights, rerank.neutral, rerank.either):
        _warn_unfitted(str((calibration.file if whitened else calibration.raw_file)
                           or PACKAGED["whitened" if whitened else "raw"]))
        return None
    return fitted


def conflict_scores(scores: np.ndarray, calibration: CalibrationSettings, rerank: RerankSettings,
                    whitened: bool = True) -> tuple[np.ndarray, np.ndarray] | None:
    """(conflict probability, tier) of fused ``scores`` (``served_calibration``); None where it gives no map."""
    fitted = served_calibration(calibration, rerank, whitened)
    if fitted is None:
        return None
    probs = fitted(scores)
    return probs, tiers(probs, calibration.medium, calibration.high)


@lru_cache(maxsize=None)
def _warn_unfitted(path: str) -> None:
    logger.warning("conflict scores off: the calibration {} was fitted under another fusion than the configured "
                   "one (refit it: scripts/bench/bench_watch.py --write-calibration)", path)


def score_floor(calibration: Calibration, probability: float) -> float:
    """The lowest fused score whose conflict probability reaches ``probability`` (the map is monotone, so every
    score below it stays below); -inf when every score does, +inf when none does. A watch list's
    ``min_conflict`` as a fused score: what re-ranking can prune against before it spends spatial verification."""
    x, y = np.asarray(calibration.x, dtype=np.float64), np.asarray(calibration.y, dtype=np.float64)
    reached = np.flatnonzero(y >= probability)
    if not len(reached):
        return float("inf")
    j = int(reached[0])
    if j == 0:
        return float("-inf")
    # between knots j-1 and j the map is the line through them (np.interp), and y[j-1] < probability <= y[j]
    return float(x[j - 1] + (probability - y[j - 1]) / (y[j] - y[j - 1]) * (x[j] - x[j - 1]))


def tiers(probs: np.ndarray, medium: float, high: float) -> np.ndarray:
    """"high" at or above ``high``, "medium" at or above ``medium``, else "low" (NaN: low)."""
    probs = np.nan_to_num(np.asarray(probs, dtype=np.float64), nan=-1.0)
    return np.array(TIERS, dtype=object)[(probs >= medium).astype(int) + (probs >= high).astype(int)]


__all__ = ["Calibration", "CalibrationError", "PACKAGED", "SPACES", "calibration_of", "conflict_scores", "TIERS", "fusion_key", "load_calibration", "expected_calibration_error", "fit_isotonic", "reliability", "score_floor", "served_calibration", "tiers"]
