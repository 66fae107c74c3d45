"""Vienna classification agreement between a query's codes and a mark's codes, as a pure function.

Codes are category.division.section (e.g. 27.05.01); two codes agree on as many leading levels as they share,
up to three. The score of a pair of code lists is the best agreement of any pair of codes over three:
same section 1, same division 2/3, same category 1/3, nothing shared 0. No codes on either side: NaN.
"""

from __future__ import annotations

import numpy as np

LEVELS = 3


def shared_levels(a: str, b: str) -> int:
    """How many leading levels two codes share (a component like "05" equals "5")."""
    count = 0
    for x, y in zip(a.split(".")[:LEVELS], b.split(".")[:LEVELS]):
        if x.lstrip("0") != y.lstrip("0"):
            break
        count += 1
    return count


def vienna_overlap(query: list[str], candidate: list[str]) -> float:
    if not query or not candidate:
        return float("nan")
    return max(shared_levels(q, c) for q in query for c in candidate) / LEVELS


def vienna_scores(query: list[str], candidates: list[list[str]]) -> np.ndarray:
    return np.array([vienna_overlap(query, list(c or [])) for c in candidates], dtype=np.float64)
