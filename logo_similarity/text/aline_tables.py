"""ALINE's cost tables over the 26 phonetic letters (Kondrak 2000; feature values as NLTK and abydos encode
them), and names encoded as rows of table indices. Shared by the numpy reference (``aline.py``) and the compiled
kernel (``aline_jit.py``), which therefore import this module and not each other."""

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
