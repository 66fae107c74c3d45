"""How alike two mark names are, in [0, 1]: ALINE (sound) blended with normalised edit distance (spelling).

One rule for every caller (the name index and direct scoring alike): names are compared on their first
``MAX_LETTERS`` phonetic letters, so a candidate's text score does not depend on how it was found. ALINE is
quadratic in length, and past 32 letters a "name" is a slogan whose head carries what is pronounced first.

Missing or empty names are not "0 % similar": the result is None (one pair) or NaN (batches), so a caller
can leave the text component out of a composite score instead of counting it as a mismatch.
"""

from __future__ import annotations

import numpy as np

from logo_similarity.text.aline import PAD, encode, self_scores, similarity_from_codes

MAX_LETTERS = 32


def encode_names(names: list[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """Names as ALINE codes under the one length rule (first ``MAX_LETTERS`` letters)."""
    codes, lengths = encode([n or "" for n in names], width=MAX_LETTERS)
    width = max(1, int(lengths.max(initial=0)))
    return np.ascontiguousarray(codes[:, :width]), lengths


def score_encoded(query: str, codes: np.ndarray, lengths: np.ndarray, selfs: np.ndarray, phonetic_weight: float):
    """(combined, phonetic, orthographic) similarity of ``query`` to encoded names (all with letters)."""
    q_codes, q_len = encode_names([query])
    q_len0 = int(q_len[0])
    phon = similarity_from_codes(q_codes[:, : max(1, q_len0)], q_len0, codes, lengths, selfs)
    orth = orthographic_from_codes(q_codes, q_len0, codes, lengths)
    return combine(phon, orth, phonetic_weight), phon, orth


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
    query: str | None, candidates: list[str | None], phonetic_weight: float
) -> np.ndarray:
    """Similarity of ``query`` to each candidate; NaN where either side has no letters."""
    out = np.full(len(candidates), np.nan)
    if not len(candidates) or not encode_names([query])[1][0]:
        return out
    c_codes, c_len = encode_names(candidates)
    present = c_len > 0
    if present.any():
        codes, lens = c_codes[present], c_len[present]
        out[present] = score_encoded(query, codes, lens, self_scores(codes, lens), phonetic_weight)[0]
    return out


def text_similarity(a: str | None, b: str | None, phonetic_weight: float) -> float | None:
    """Similarity of two names in [0, 1], or None when either has no text to compare."""
    value = text_similarity_many(a, [b], phonetic_weight)[0]
    return None if np.isnan(value) else float(value)


__all__ = ["MAX_LETTERS", "PAD", "combine", "encode_names", "score_encoded", "levenshtein_batch", "orthographic_from_codes", "text_similarity", "text_similarity_many"]
