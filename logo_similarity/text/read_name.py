"""The name written in a logo, read by OCR: for a query given without a name, and for unnamed marks at index time.

Recognised words are kept when confident enough and long enough to be a word rather than a stray glyph read
as a letter ("R" in a circle, a "4" in a shape); what is kept is the words in reading order, joined by spaces.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from logo_similarity.config import RerankSettings, TextSettings
from logo_similarity.text.normalize import phonetic_letters
from logo_similarity.text.ocr import OcrResult, read_text


@dataclass(frozen=True)
class ReadName:
    text: str
    words: list[str] = field(default_factory=list)
    confidence: float = 0.0  # the lowest confidence of the words kept


def name_from_ocr(result: OcrResult, min_confidence: float, min_letters: int) -> ReadName | None:
    """The words of an OCR result worth comparing as a name; None when there are none."""
    kept = [
        (text.strip(), conf) for text, conf in zip(result.texts, result.confidences)
        if conf >= min_confidence and sum(ch.isalnum() for ch in text) >= min_letters and phonetic_letters(text)
    ]
    if not kept:
        return None
    words = [w for w, _ in kept]
    return ReadName(" ".join(words), words, min(c for _, c in kept))


def name_variants(text: str, min_letters: int = 3, most: int = 3) -> list[str]:
    """A read name as a whole, then its longest words (up to ``most`` in all): each is compared, best kept."""
    words = [w for w in text.split() if sum(ch.isalnum() for ch in w) >= min_letters]
    longest = sorted(dict.fromkeys(words), key=lambda w: (-len(w), w))
    return [text] + [w for w in longest if w != text][: most - 1] if len(words) > 1 else [text]


@dataclass(frozen=True)
class NameReader:
    """``reader(image) -> ReadName | None`` with the OCR models and thresholds of these settings."""

    text: TextSettings
    rerank: RerankSettings
    cache_dir: Path

    def __call__(self, image: Image.Image) -> ReadName | None:
        return self.from_ocr(read_text(image, self.text, Path(self.cache_dir).expanduser(), recognize=True))

    def from_ocr(self, result: OcrResult) -> ReadName | None:
        """The name in an OCR result already read (with recognition) from the image, by these thresholds."""
        return name_from_ocr(result, self.rerank.min_ocr_confidence, self.rerank.min_ocr_letters)


def name_reader(settings, enabled: bool | None = None) -> NameReader | None:
    """The reader for ``settings`` (a ``Settings``), or None when reading names is off (``rerank.ocr_index``)."""
    on = settings.rerank.ocr_index if enabled is None else enabled
    return NameReader(settings.text, settings.rerank, Path(settings.model.cache_dir)) if on else None
