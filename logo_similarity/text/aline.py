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

from logo_similarity.text.normalize import phonetic_letters

C_SKIP, C_SUB, C_EXP, C_VWL = -10.0, 35.0, 45.0, 10.0

# Feature values (Kondrak 2000, Table 2/3 as encoded by NLTK and abydos).
_WEIGHTS = {
    "bilabial": 1.0, "labiodental": 0.95, "dental": 0.9, "alveolar": 0.85, "retroflex": 0.8,
    "palato-alveolar": 0.75, "palatal": 0.7, "velar": 0.6, "uvular": 0.5, "pharyngeal": 0.3, "glottal": 0.1,
    "stop": 1.0, "affricate": 0.9, "fricative": 0.8, "approximant": 0.6, "trill": 0.55, "tap": 0.5,
    "high vowel": 0.4, "mid vowel": 0.2, "low vowel": 0.0,
    "high": 1.0, "mid": 0.5, "low": 0.0, "front": 1.0, "central": 0.5, "back": 0.0, "+": 1.0, "-": 0.0,
}
SALIENCE = {
    "syllabic": 5, "voice": 10, "lateral": 10, "high": 5, "manner": 50, "long": 1, "place": 40,
    "nasal": 10, "aspirated": 5, "back": 5, "retroflex": 10, "round": 5,
}
CONSONANT_FEATURES = ("aspirated", "lateral", "manner", "nasal", "place", "retroflex", "syllabic", "voice")
VOWEL_FEATURES = ("back", "high", "long", "nasal", "retroflex", "round", "syllabic")

_COLUMNS = ("place", "manner", "syllabic", "voice", "nasal", "retroflex", "lateral", "high", "back", "round")
# Kept exactly as in the reference tables, quirks included (i is [+round], v is [+syllabic]) so scores agree.
_PHONES = {
    "a": ("velar", "low vowel", "+", "+", "-", "-", "-", "low", "central", "-"),
    "b": ("bilabial", "stop", "-", "+", "-", "-", "-"),
    "c": ("alveolar", "affricate", "-", "-", "-", "-", "-"),
    "d": ("alveolar", "stop", "-", "+", "-", "-", "-"),
    "e": ("palatal", "mid vowel", "+", "+", "-", "-", "-", "mid", "front", "-"),
    "f": ("labiodental", "fricative", "-", "-", "-", "-", "-"),
    "g": ("velar", "stop", "-", "+", "-", "-", "-"),
    "h": ("glottal", "fricative", "-", "-", "-", "-", "-"),
    "i": ("palatal", "high vowel", "+", "+", "-", "-", "-", "high", "front", "+"),
    "j": ("alveolar", "affricate", "-", "+", "-", "-", "-"),
    "k": ("velar", "stop", "-", "-", "-", "-", "-"),
    "l": ("alveolar", "approximant", "-", "+", "-", "-", "+"),
    "m": ("bilabial", "stop", "-", "+", "+", "-", "-"),
    "n": ("alveolar", "stop", "-", "+", "+", "-", "-"),
    "o": ("velar", "mid vowel", "+", "+", "-", "-", "-", "mid", "back", "+"),
    "p": ("bilabial", "stop", "-", "-", "-", "-", "-"),
    "q": ("glottal", "stop", "-", "-", "-", "-", "-"),
    "r": ("retroflex", "approximant", "-", "+", "-", "+", "-"),
    "s": ("alveolar", "fricative", "-", "-", "-", "-", "-"),
    "t": ("alveolar", "stop", "-", "-", "-", "-", "-"),
    "u": ("velar", "high vowel", "+", "+", "-", "-", "-", "high", "back", "+"),
    "v": ("labiodental", "fricative", "+", "+", "-", "-", "-"),
    "w": ("velar", "high vowel", "+", "+", "-", "-", "-", "high", "back", "+"),
    "x": ("velar", "fricative", "-", "-", "-", "-", "-"),
    "y": ("velar", "high vowel", "+", "+", "-", "-", "-", "high", "front", "-"),
    "z": ("alveolar", "fricative", "-", "+", "-", "-", "-"),
}
LETTERS = "abcdefghijklmnopqrstuvwxyz"
PAD = len(LETTERS)


def _features(letter: str) -> dict[str, float]:
    return {name: _WEIGHTS[value] for name, value in zip(_COLUMNS, _PHONES[letter])}


def _delta(p: dict[str, float], q: dict[str, float]) -> float:
    names = CONSONANT_FEATURES if max(p["manner"], q["manner"]) > _WEIGHTS["high vowel"] else VOWEL_FEATURES
    return sum(abs(p.get(f, 0.0) - q.get(f, 0.0)) * SALIENCE[f] for f in names)


def _vowel_cost(p: dict[str, float]) -> float:
    return 0.0 if p["manner"] > _WEIGHTS["high vowel"] else C_VWL


def _tables() -> tuple[np.ndarray, np.ndarray]:
    feats = [_features(ch) for ch in LETTERS]
    sub = np.full((PAD + 1, PAD + 1), -np.inf)
    exp = np.full((PAD + 1, PAD + 1, PAD + 1), -np.inf)
    for a, p in enumerate(feats):
        for b, q in enumerate(feats):
            sub[a, b] = C_SUB - _delta(p, q) - _vowel_cost(p) - _vowel_cost(q)
            for c, r in enumerate(feats):
                exp[a, b, c] = C_EXP - _delta(p, q) - _delta(p, r) - _vowel_cost(p) - max(_vowel_cost(q), _vowel_cost(r))
    return sub, exp


SUB, EXP = _tables()
_CODE = np.full(128, PAD, dtype=np.int64)
_CODE[[ord(c) for c in LETTERS]] = np.arange(PAD)


def encode(names: list[str], width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Phonetic letters of each name as a padded (N, width) uint8 matrix, and the lengths (capped at width)."""
    letters = [phonetic_letters(n) for n in names]
    lengths = np.array([len(s) for s in letters], dtype=np.int64)
    width = width or max(1, int(lengths.max(initial=0)))
    lengths = np.minimum(lengths, width)
    codes = np.full((len(letters), width), PAD, dtype=np.uint8)
    for row, s in enumerate(letters):
        if s:
            codes[row, : len(s)] = _CODE[np.frombuffer(s[:width].encode("ascii"), dtype=np.uint8)]
    return codes, lengths


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
    from logo_similarity.text.aline_jit import aline_self_scores  # imports this module's tables

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
