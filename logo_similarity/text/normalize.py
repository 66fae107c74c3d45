"""Canonical forms of mark names, so that "Café-Noir 24/7" and "cafe noir twenty four seven" compare equal.

``canonical_text``: Unicode compatibility form, accents removed, lowercase, ``&`` read as "and", numbers spelled
out in English words, every other non-alphanumeric run becomes one space.
``phonetic_letters``: the canonical text with only the letters a-z kept (the input of ALINE).
"""

from __future__ import annotations

import re
import unicodedata

_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen " \
        "seventeen eighteen nineteen".split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_LIGATURES = {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ł": "l", "þ": "th", "ı": "i"}
_NUMBER = re.compile(r"\d+")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def number_words(n: int) -> str:
    """English words for 0 <= n < 10**6; longer digit runs are read digit by digit by the caller."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + number_words(rest))
    rest = n % 1000
    return number_words(n // 1000) + " thousand" + ("" if rest == 0 else " " + number_words(rest))


def _spell(match: re.Match) -> str:
    digits = match.group(0)
    if len(digits) > 6 or (len(digits) > 1 and digits.startswith("0")):
        return " " + " ".join(_ONES[int(d)] for d in digits) + " "
    return " " + number_words(int(digits)) + " "


def canonical_text(text: str | None) -> str:
    """Canonical form of a name; empty string for None or a name with no letters or digits."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = "".join(_LIGATURES.get(ch, ch) for ch in text).replace("&", " and ").replace("+", " plus ")
    text = _NUMBER.sub(_spell, text)
    return _NON_WORD.sub(" ", text).strip()


def phonetic_letters(text: str | None) -> str:
    """Letters a-z of the canonical form, words joined: what ALINE compares."""
    return canonical_text(text).replace(" ", "")
