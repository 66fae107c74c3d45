"""One score per candidate from its component scores, as a pure function over arrays.

Each component moves the score up or down from its neutral point: ``composite = sum_c w_c * (s_c - n_c)``
over the components present. The neutral point is the score an unrelated pair typically gets (two unrelated
names still share some sounds: about 0.4), so a component that is missing for a candidate (NaN: the mark
has no name, no local features) contributes exactly what "no evidence" should, nothing, instead of the
penalty a score of 0 would be. A weighted mean would instead let a weak name match drag a near-identical
image below an unnamed one. With one component and no neutral point the composite is that component.
"""

from __future__ import annotations

import numpy as np


def composite_scores(components: dict[str, np.ndarray], weights: dict[str, float],
                     neutral: dict[str, float] | None = None) -> np.ndarray:
    """Weighted sum of (score - neutral) of the components present per row; NaN where a row has none.

    ``components`` maps a name to an array of n scores (NaN = missing); ``weights`` and ``neutral`` give each
    name's weight and neutral point (0 when not given).
    """
    if not components:
        raise ValueError("no components to combine")
    names = sorted(components)
    unknown = [n for n in names if n not in weights]
    if unknown:
        raise ValueError(f"no weight for components {unknown}")
    neutral = neutral or {}
    stacked = np.stack([np.asarray(components[n], dtype=np.float64) for n in names])
    w = np.array([weights[n] for n in names], dtype=np.float64)[:, None]
    if (w < 0).any():
        raise ValueError("weights must be >= 0")
    centre = np.array([neutral.get(n, 0.0) for n in names], dtype=np.float64)[:, None]
    present = ~np.isnan(stacked)
    summed = np.where(present, (stacked - centre) * w, 0.0).sum(axis=0)
    return np.where(present.any(axis=0), summed, np.nan)
