"""What a text detector (CRAFT in ``ocr.py``, PP-OCR's in ``db_detector.py``) and the recogniser give: a module of its
own so the detectors share it without importing each other."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class OcrResult:
    """Axis-aligned boxes (x0, y0, x1, y1), free-form quadrilaterals, and texts when recognised."""

    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    polygons: list[list[tuple[int, int]]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    confidences: list[float] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(t for t in self.texts if t).strip()

    def __bool__(self) -> bool:
        return bool(self.boxes or self.polygons)


__all__ = ["OcrResult"]
