"""ALINE phonetic alignment score (Kondrak 2000, "A New Algorithm for the Alignment of Phonetic Sequences"),
vectorised over many candidate names at once.

Letters are phones with multivalued features (place, manner, ...) weighted by salience. With the local
alignment of the paper, the score of two strings is the best of a dynamic programme with four operations:

    skip      C_skip                                                      (indel)
    sub(p,q)  C_sub - delta(p,q) - V(p) - V(q)                            (substitution)
    exp(p,qr) C_exp - delta(p,q) - delta(p,r) - V(p) - max(V(q), V(r))    (expansion / compression)

where delta sums |f(p) - f(q)| * salience(f) over the consonant features when either phone is a consonant,
else over the vowel features, and V(p) = C_vwl for vowels. The normalised similarity is
score(a, b) / max(score(a, a), score(b, b)) (Kondrak's normalisation, as in abydos' ``ALINE().sim``).

Input rule: names are reduced to lowercase ASCII letters (``phonetic_letters``) before scoring, because
Kondrak's symbol set reads capitals as feature modifiers and ignores everything else. Because every phone is
then one of 26 letters, sub and exp are looked up in precomputed 27x27 and 27x27x27 tables (index 26 pads
shorter names and scores -inf). ``aline_scores`` runs the programme for a whole batch with numpy and is the
reference; searches use the compiled kernel in ``aline_jit.py``, which gives the same scores (tested equal).
"""

from __future__ import annotations

import numpy as np

from logo_similarity.text.aline_tables import C_SKIP, EXP, PAD, SUB, encode

__all__ = ["PAD", "aline_scores", "aline_similarity", "encode", "self_scores", "similarity_from_codes"]


def aline_scores(src: np.ndarray, tar: np.ndarray) -> np.ndarray:
    """Local ALINE scores of row pairs: src (B, M) and tar (B, L) padded codes; src may be (1, M) to broadcast."""
    batch = max(len(src), len(tar))
    m, n = src.shape[1], tar.shape[1]
    s = np.zeros((m + 1, n + 1, batch))
    best = np.zeros(batch)
    for i in range(1, m + 1):
        p = src[:, i - 1]
        for j in range(1, n + 1):
            q = tar[:, j - 1]
            cell = np.maximum(s[i - 1, j], s[i, j - 1]) + C_SKIP
            np.maximum(cell, s[i - 1, j - 1] + SUB[p, q], out=cell)
            if j > 1:
                np.maximum(cell, s[i - 1, j - 2] + EXP[p, tar[:, j - 2], q], out=cell)
            if i > 1:
                np.maximum(cell, s[i - 2, j - 1] + EXP[q, src[:, i - 2], p], out=cell)
            np.maximum(cell, 0.0, out=cell)
            s[i, j] = cell
            np.maximum(best, cell, out=best)
    return best


def self_scores(codes: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """score(x, x) for every row (compiled kernel, aline_jit.py)."""
    from logo_similarity.text.aline_jit import aline_self_scores  # numba is imported when names are first scored

    return aline_self_scores(np.ascontiguousarray(codes), lengths)


def aline_similarity(query: str, candidates: list[str]) -> np.ndarray:
    """Normalised ALINE similarity of ``query`` to each candidate, in [0, 1]."""
    q_codes, q_len = encode([query])
    c_codes, c_len = encode(candidates)
    return similarity_from_codes(q_codes[:, : max(1, q_len[0])], int(q_len[0]), c_codes, c_len)


def similarity_from_codes(
    q_codes: np.ndarray, q_len: int, c_codes: np.ndarray, c_len: np.ndarray, c_self: np.ndarray | None = None,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """Normalised similarity from encoded names; pass precomputed candidate self-scores when scoring often.

    ``rows`` scores only those rows of the candidate arrays (without copying them), in that order.
    """
    from logo_similarity.text.aline_jit import aline_raw_scores

    c_self = self_scores(c_codes, c_len) if c_self is None else c_self
    if rows is not None:
        c_self, lengths = c_self[rows], c_len[rows]
    else:
        lengths = c_len
    q_self = self_scores(q_codes, np.array([q_len]))[0]
    if q_len == 0:
        raw = np.where(lengths == 0, 1.0, 0.0)
    else:
        raw = aline_raw_scores(q_codes, q_len, np.ascontiguousarray(c_codes), c_len, rows)
        raw[lengths == 0] = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        sim = raw / np.maximum(q_self, c_self)
    return np.where(raw != 0, sim, 0.0)
