"""Small timing helpers: a context manager that logs a step, and latency percentiles."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from loguru import logger


@dataclass
class Timer:
    seconds: float = 0.0

    @property
    def ms(self) -> float:
        return self.seconds * 1000.0


@contextmanager
def timed(step: str | None = None) -> Iterator[Timer]:
    """Time a block; logs ``step`` with its duration when a name is given."""
    timer = Timer()
    start = time.perf_counter()
    try:
        yield timer
    finally:
        timer.seconds = time.perf_counter() - start
        if step:
            logger.info("{} took {:.2f}s", step, timer.seconds)


def percentiles_ms(samples_s: list[float] | np.ndarray, qs: tuple[int, ...] = (50, 99)) -> dict[str, float]:
    """Percentiles of durations given in seconds, in milliseconds, keyed ``p50``, ``p99``..."""
    arr = np.asarray(samples_s, dtype=np.float64) * 1000.0
    if arr.size == 0:
        return {f"p{q}": float("nan") for q in qs}
    return {f"p{q}": float(np.percentile(arr, q)) for q in qs}
