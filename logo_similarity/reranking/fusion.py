"""The fusion rule: one score per candidate from its component scores, and the order it gives. Pure functions over
arrays, and the only ones: ``rerank_candidates`` serves with them and ``scripts/06b_fit_rerank.py`` fits the
weights through them (evaluation/rerank_eval.py), so fitted weights are fitted by exactly the rule that serves them.

Each component moves the score up or down from its neutral point: ``composite = sum_c w_c * (s_c - n_c)``
over the components present. The neutral point is the score an unrelated pair typically gets (two unrelated
names still share some sounds: about 0.4), so a component that is missing for a candidate (NaN: the mark
has no name, no local features) contributes exactly what "no evidence" should, nothing, instead of the
penalty a score of 0 would be. A weighted mean would instead let a weak name match drag a near-identical
image below an unnamed one. With one component and no neutral point the composite is that component.

Either element of a composite mark can make a conflict on its own (the same device under other words, a name
that sounds the same under another device), which a sum dilutes: the other components of such a pair sit at or
below neutral. So the rule blends the sum with the strongest single piece of evidence:
``(1 - either) * sum_c d_c + either * max_c d_c`` with ``d_c = w_c * (s_c - n_c)``; ``either`` = 0 is the plain sum.
The components of ``CONTEXT`` (the goods and services, Nice classes) shift the sum but never count as that
strongest piece: two marks in the same class are no more alike for it.
"""

from __future__ import annotations

import numpy as np

CONTEXT = ("nice",)


def composite_scores(components: dict[str, np.ndarray], weights: dict[str, float],
                     neutral: dict[str, float] | None = None, either: float = 0.0) -> np.ndarray:
    """Weighted sum of (score - neutral) of the components present per row, blended with the largest of those
    terms by ``either`` (see the module); NaN where a row has none.

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
    terms = np.where(present, (stacked - centre) * w, 0.0)
    summed = terms.sum(axis=0)
    if either:
        evidence = present & ~np.isin(np.array(names), CONTEXT)[:, None]
        strongest = np.where(evidence, terms, -np.inf).max(axis=0)
        summed = (1.0 - either) * summed + either * np.where(evidence.any(axis=0), strongest, 0.0)
    return np.where(present.any(axis=0), summed, np.nan)


def fusion_weights(weights: dict[str, float], neutral: dict[str, float],
                   name_source: str | None = None) -> tuple[dict[str, float], dict[str, float]]:
    """The weights and neutral points a query is fused with: when its name was read by OCR (``name_source``
    "ocr"), the ``text`` component plays with the ``ocr_text`` entries, or with ``text``'s where those are not
    configured (a name read from a logo is weaker evidence than one an examiner typed)."""
    w, n = dict(weights), dict(neutral)
    if name_source == "ocr":
        w["text"], n["text"] = w.get("ocr_text", w.get("text", 0.0)), n.get("ocr_text", n.get("text", 0.0))
    return w, n


def fused_scores(components: dict[str, np.ndarray], weights: dict[str, float], neutral: dict[str, float],
                 name_source: str | None = None, either: float = 0.0) -> np.ndarray:
    """The fused score of every candidate: ``composite_scores`` of the components with this query's weights
    (``fusion_weights``) and ``either``; a component without a configured weight counts with weight 0."""
    w, n = fusion_weights(weights, neutral, name_source)
    return composite_scores(components, {c: w.get(c, 0.0) for c in components}, n, either)


def ranking(ids: np.ndarray, scores: np.ndarray, k: int | None = None) -> np.ndarray:
    """Rows of ``ids`` in ranked order: best score first, ties by smaller id; rows with no score (NaN) are left
    out. At most ``k`` rows."""
    order = np.lexsort((ids, -np.nan_to_num(scores, nan=-np.inf)))
    order = order[~np.isnan(np.asarray(scores, dtype=np.float64)[order])]
    return order[:k] if k is not None else order


def best_rows(scores: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` rows with the highest scores (NaN counts lowest), ties in row order: the candidates that get a
    component too dear to compute for all of them (spatial verification, name scores)."""
    return np.argsort(-np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=-np.inf), kind="stable")[:n]
