"""Errors of the text stage, importable without loading the OCR models or torch."""


class OcrModelError(RuntimeError):
    """OCR weights missing or unusable; never replaced by a model with random weights."""
