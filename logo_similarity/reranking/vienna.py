"""Vienna classification agreement between a query's codes and a mark's codes, as a pure function.

Codes are category.division.section (e.g. 27.05.01); two codes agree on as many leading levels as they share,
up to three, after both are read in the classification's canonical form ("5.3.1" is "05.03.01"). Codes the
classification does not know (an unknown category, or a division missing from a category it lists completely)
are left out rather than counted. The score of a pair of code lists is the best agreement of any pair of codes
over three: same section 1, same division 2/3, same category 1/3, nothing shared 0. No usable codes on either
side: NaN (no evidence either way).
"""

from __future__ import annotations

import numpy as np

from logo_similarity.classification import ViennaClassification, canonical

LEVELS = 3


def shared_levels(a: str, b: str) -> int:
    """How many leading levels two codes share ("05" and "5" are the same level)."""
    count = 0
    for x, y in zip(a.split(".")[:LEVELS], b.split(".")[:LEVELS]):
        if x.lstrip("0") != y.lstrip("0"):
            break
        count += 1
    return count


def usable_codes(codes, table: ViennaClassification | None = None) -> list[str]:
    out = []
    for code in codes or ():
        try:
            code = canonical(code)
        except ValueError:
            continue
        if table is None or table.problem(code) is None:
            out.append(code)
    return out


def best_shared(query: list[str], candidate: list[str]) -> tuple[int, str | None]:
    """The most levels any pair shares, and the shared prefix (canonical) or None."""
    best, prefix = 0, None
    for q in query:
        for c in candidate:
            n = shared_levels(q, c)
            if n > best:
                best, prefix = n, ".".join(q.split(".")[:n])
    return best, prefix


def _overlap(query: list[str], candidate: list[str]) -> float:
    return best_shared(query, candidate)[0] / LEVELS if query and candidate else float("nan")


def vienna_scores(query: list[str], candidates: list[list[str]], table: ViennaClassification | None = None
                  ) -> np.ndarray:
    query = usable_codes(query, table)  # once, not per candidate
    return np.array([_overlap(query, usable_codes(c, table)) for c in candidates], dtype=np.float64)


def nice_overlap(query: list[int], candidates: list[list[int] | None]) -> np.ndarray:
    """Whether each candidate's goods and services share a Nice class with the query's: 1 (some shared), 0 (both
    classified, none shared), NaN (the candidate is not classified: no evidence either way)."""
    wanted = {int(c) for c in query}
    return np.array([np.nan if not c else float(bool(wanted & {int(x) for x in c})) for c in candidates],
                    dtype=np.float64)
