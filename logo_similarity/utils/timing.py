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
