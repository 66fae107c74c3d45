"""Timing helpers: a stopwatch charging elapsed time to named stages, and latency percentiles."""

from __future__ import annotations

import time

import numpy as np


class Stopwatch:
    """Milliseconds per stage of one piece of work (a query's ``timings_ms``).

    ``lap(stage)`` charges the time since the previous lap (or since the stopwatch was made) to ``stage``; a stage
    lapped more than once adds up.
    """

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] = self.timings.get(stage, 0.0) + (now - self._last) * 1000.0
        self._last = now


def percentiles_ms(samples_s: list[float] | np.ndarray, qs: tuple[int, ...] = (50, 99)) -> dict[str, float]:
    """Percentiles of durations given in seconds, in milliseconds, keyed ``p50``, ``p99``..."""
    arr = np.asarray(samples_s, dtype=np.float64) * 1000.0
    if arr.size == 0:
        return {f"p{q}": float("nan") for q in qs}
    return {f"p{q}": float(np.percentile(arr, q)) for q in qs}


# A query's stopwatch laps (search/query.py, reranking/rerank.py) grouped into the stages a profile reports.
QUERY_STAGES: dict[str, tuple[str, ...]] = {
    "decode": ("decode",),
    "ocr": ("ocr",),
    "embed": ("preprocess", "embed", "figure"),
    "stage1": ("search", "figures", "names"),
    "spatial": ("rerank.spatial",),
    "text": ("rerank.text",),
}


def query_stages(timings_ms: dict[str, float]) -> dict[str, float]:
    """One query's ``timings_ms`` as the stages of ``QUERY_STAGES`` plus ``fuse``: the rest of stage 2 (image and
    figure scores, Vienna, the fusion, explanations), i.e. ``rerank`` less its spatial and text laps."""
    out = {stage: sum(timings_ms.get(lap, 0.0) for lap in laps) for stage, laps in QUERY_STAGES.items()}
    out["fuse"] = max(0.0, timings_ms.get("rerank", 0.0) - out["spatial"] - out["text"])
    return out


def stage_percentiles(per_query: list[dict[str, float]], qs: tuple[int, ...] = (50, 99)) -> dict[str, dict[str, float]]:
    """Percentiles (ms) of each stage over queries (``query_stages`` of each)."""
    stages = [query_stages(t) for t in per_query]
    names = list(stages[0]) if stages else []
    return {n: percentiles_ms([s[n] / 1000.0 for s in stages], qs) for n in names}
