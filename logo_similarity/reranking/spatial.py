"""Spatial verification: does the query's shape appear, cell by cell, in a candidate? Pure functions over arrays.

Inputs are local features (``embeddings/local.py``): per item ``P = g*g`` grid cells, each a unit vector, and
each cell's share of ink (cells without ink are never matched: white matches white everywhere).

Two methods, measured against each other on LogoBench (see the closing note of issue 10):

- ``patch_max_similarity`` (the seed's method): for every inked query cell, its best cosine among the
  candidate's inked cells, averaged (ink-weighted), and the same from the candidate's side; the mean of both.
  Blind to where cells are, so mirroring, rotation, scale and crop cost nothing, and neither does shuffling.
- ``verified_matches``: mutual nearest neighbours between the two cell sets, then a RANSAC fit of a 2-D
  affine map (OpenCV; reflections allowed, so a mirrored copy verifies) from query cells to candidate cells.
  The score is the inliers' summed similarity over the query's inked cells: only matches that agree on one
  geometric transform count, which is what tells a copied arrangement from the same parts in another order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

INK_MIN = 0.05  # a cell with less ink than this is background


def cell_similarities(query: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """(P, D) query cells x (N, P, D) candidate cells -> (N, P_candidate, P_query) cosines (float32).

    One matrix product over all candidates' cells stacked (a batched ``matmul`` of N small products is several
    times slower here)."""
    n, cells, dim = candidates.shape
    stacked = np.ascontiguousarray(candidates, dtype=np.float32).reshape(n * cells, dim)
    return (stacked @ query.astype(np.float32, copy=False).T).reshape(n, cells, len(query))


def patch_max_similarity(
    query: np.ndarray, query_ink: np.ndarray, candidates: np.ndarray, candidate_ink: np.ndarray,
    sims: np.ndarray | None = None,
) -> np.ndarray:
    """Symmetric ink-weighted mean of best-match cosines, (N,) in [-1, 1]; NaN where either side has no ink."""
    sims = cell_similarities(query, candidates) if sims is None else sims
    q_on = query_ink > INK_MIN
    c_on = candidate_ink > INK_MIN
    masked = np.where(c_on[:, :, None] & q_on[None, None, :], sims, -1.0)
    q_best = masked.max(axis=1)  # (N, P_query)
    c_best = masked.max(axis=2)  # (N, P_candidate)
    q_w = np.where(q_on, query_ink, 0.0)
    c_w = np.where(c_on, candidate_ink, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        forward = (q_best * q_w).sum(axis=1) / q_w.sum()
        backward = (c_best * c_w).sum(axis=1) / c_w.sum(axis=1)
    score = (forward + backward) / 2.0
    score[(c_w.sum(axis=1) == 0) | (q_w.sum() == 0)] = np.nan
    return score


@dataclass
class SpatialMatch:
    """A verified match of one candidate: the score and its inlier cell pairs (query cell, candidate cell)."""

    score: float
    pairs: list[tuple[int, int]] = field(default_factory=list)


def mutual_nearest(sims: np.ndarray | None, query_on: np.ndarray, candidate_on: np.ndarray, min_similarity: float,
                   query: np.ndarray | None = None, candidates: np.ndarray | None = None):
    """Per candidate: arrays (query cells, candidate cells, similarity) of mutual nearest neighbours.

    ``sims`` (N, Pc, Pq) of all cells, or None to compute only the inked query cells' columns from ``query``
    and ``candidates`` (about a third of the work: logos leave most of the grid white).
    """
    q_cells_on = np.flatnonzero(query_on)
    n = len(candidate_on)
    if not len(q_cells_on):
        return [(np.zeros(0, int), np.zeros(0, int), np.zeros(0, np.float32)) for _ in range(n)]
    if sims is None:
        masked = cell_similarities(query[q_cells_on], candidates)
    else:
        masked = sims[:, :, q_cells_on]
    masked += np.where(candidate_on, 0.0, -np.inf).astype(np.float32)[:, :, None]  # background rows never match
    best_c = masked.argmax(axis=1)  # (N, Qon): candidate cell of each inked query cell
    best_q = masked.argmax(axis=2)  # (N, Pc): position among the inked query cells
    rows = np.arange(n)[:, None]
    cols = np.arange(len(q_cells_on))[None, :]
    value = masked[rows, best_c, cols]
    mutual = (best_q[rows, best_c] == cols) & (value >= min_similarity)
    out = []
    for i in range(n):
        keep = np.flatnonzero(mutual[i])
        out.append((q_cells_on[keep], best_c[i, keep], value[i, keep]))
    return out


def verified_matches(
    query: np.ndarray, query_ink: np.ndarray, candidates: np.ndarray, candidate_ink: np.ndarray, grid: int,
    sims: np.ndarray | None = None, min_similarity: float = 0.5, reproj_cells: float = 1.5, max_scale: float = 3.0,
    seed: int = 0,
) -> list[SpatialMatch]:
    """Mutual nearest neighbours + RANSAC affine per candidate; score = inlier similarity / query inked cells."""
    import cv2

    q_on = query_ink > INK_MIN
    c_on = candidate_ink > INK_MIN
    n_query = max(1, int(q_on.sum()))
    xy = np.stack(np.divmod(np.arange(grid * grid), grid)[::-1], axis=1).astype(np.float32)  # cell -> (x, y)
    results = []
    for q_cells, c_cells, value in mutual_nearest(sims, q_on, c_on, min_similarity, query, candidates):
        if not q_on.any() or len(q_cells) == 0:
            results.append(SpatialMatch(float("nan") if not q_on.any() else 0.0))
            continue
        if len(q_cells) < 3:  # too few to fit a map: count them as they are, unverified matches are weak
            results.append(SpatialMatch(float(value.sum()) / n_query / 2.0, list(zip(q_cells.tolist(), c_cells.tolist()))))
            continue
        cv2.setRNGSeed(seed)  # per candidate: its fit never depends on which others are verified with it
        affine, inliers = cv2.estimateAffine2D(
            xy[q_cells], xy[c_cells], method=cv2.RANSAC, ransacReprojThreshold=reproj_cells, maxIters=200,
            confidence=0.99,
        )
        keep = np.zeros(len(q_cells), bool) if inliers is None else inliers.ravel().astype(bool)
        if affine is None or not np.isfinite(affine).all():
            keep[:] = False
        else:
            # the 2x2 determinant written out: np.linalg.det's checks cost more than the fit's other work here
            scale = np.sqrt(abs(affine[0, 0] * affine[1, 1] - affine[0, 1] * affine[1, 0]))
            if not (1.0 / max_scale <= scale <= max_scale):
                keep[:] = False
        results.append(SpatialMatch(float(value[keep].sum()) / n_query,
                                    list(zip(q_cells[keep].tolist(), c_cells[keep].tolist()))))
    return results
