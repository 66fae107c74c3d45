"""How alike two mark names are, in [0, 1]: ALINE (sound) blended with normalised edit distance (spelling).

Missing or empty names are not "0 % similar": the result is None (one pair) or NaN (batches), so a caller
can leave the text component out of a composite score instead of counting it as a mismatch.
"""

from __future__ import annotations

import numpy as np

from logo_similarity.text.aline import PAD, encode, self_scores, similarity_from_codes


def levenshtein_batch(q_codes: np.ndarray, q_len: int, c_codes: np.ndarray, c_len: np.ndarray) -> np.ndarray:
    """Edit distance of one encoded name to each encoded candidate (padding ignored via the lengths)."""
    q = q_codes[0, :q_len]
    width = c_codes.shape[1]
    prev = np.broadcast_to(np.arange(width + 1, dtype=np.int64), (len(c_codes), width + 1)).copy()
    for i in range(1, q_len + 1):
        cur = np.empty_like(prev)
        cur[:, 0] = i
        cost = (c_codes != q[i - 1]).astype(np.int64)
        for j in range(1, width + 1):
            cur[:, j] = np.minimum(np.minimum(prev[:, j], cur[:, j - 1]) + 1, prev[:, j - 1] + cost[:, j - 1])
        prev = cur
    return prev[np.arange(len(c_codes)), c_len]


def orthographic_from_codes(q_codes: np.ndarray, q_len: int, c_codes: np.ndarray, c_len: np.ndarray) -> np.ndarray:
    width = max(1, int(c_len.max(initial=0)))
    dist = levenshtein_batch(q_codes, q_len, c_codes[:, :width], c_len)
    longest = np.maximum(c_len, q_len)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(longest > 0, 1.0 - dist / np.maximum(longest, 1), 1.0)


def combine(phonetic: np.ndarray, orthographic: np.ndarray, phonetic_weight: float) -> np.ndarray:
    return phonetic_weight * phonetic + (1.0 - phonetic_weight) * orthographic


def text_similarity_many(
    query: str | None, candidates: list[str | None], phonetic_weight: float = 0.6
) -> np.ndarray:
    """Similarity of ``query`` to each candidate; NaN where either side has no letters."""
    q_codes, q_len = encode([query or ""])
    c_codes, c_len = encode([c or "" for c in candidates])
    out = np.full(len(candidates), np.nan)
    if q_len[0] == 0 or not len(candidates):
        return out
    present = c_len > 0
    if present.any():
        codes, lens = c_codes[present], c_len[present]
        phon = similarity_from_codes(q_codes[:, : q_len[0]], int(q_len[0]), codes, lens, self_scores(codes, lens))
        orth = orthographic_from_codes(q_codes, int(q_len[0]), codes, lens)
        out[present] = combine(phon, orth, phonetic_weight)
    return out


def text_similarity(a: str | None, b: str | None, phonetic_weight: float = 0.6) -> float | None:
    """Similarity of two names in [0, 1], or None when either has no text to compare."""
    value = text_similarity_many(a, [b], phonetic_weight)[0]
    return None if np.isnan(value) else float(value)


__all__ = ["PAD", "combine", "levenshtein_batch", "orthographic_from_codes", "text_similarity", "text_similarity_many"]
