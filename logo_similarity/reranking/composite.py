"""One score per candidate from its component scores, as a pure function over arrays.

A component that is missing for a candidate (NaN: the mark has no name, or no image query was given) does not
count as 0: the weights of the components present are renormalised, so an unnamed mark is ranked by its
image alone instead of being pushed down by a fake "no similarity".
"""

from __future__ import annotations

import numpy as np


def composite_scores(components: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    """Weighted mean of the components present per row; NaN where a row has none.

    ``components`` maps a name to an array of n scores (NaN = missing); ``weights`` gives each name's weight.
    """
    if not components:
        raise ValueError("no components to combine")
    names = sorted(components)
    unknown = [n for n in names if n not in weights]
    if unknown:
        raise ValueError(f"no weight for components {unknown}")
    stacked = np.stack([np.asarray(components[n], dtype=np.float64) for n in names])
    w = np.array([weights[n] for n in names], dtype=np.float64)[:, None]
    if (w < 0).any():
        raise ValueError("weights must be >= 0")
    present = ~np.isnan(stacked)
    total = (w * present).sum(axis=0)
    summed = np.where(present, stacked * w, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, summed / np.where(total > 0, total, 1.0), np.nan)
