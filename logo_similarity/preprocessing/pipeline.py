"""The preprocessing every image goes through before embedding, at index, query and training time alike:
optional text masking (OCR + inpainting), then normalisation to the model input.

What it does is fully described by the model spec (``text_mask`` descriptor included), and the spec is saved
in every index manifest, so a query is always prepared exactly as the indexed images were.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from logo_similarity.config import TextSettings
from logo_similarity.preprocessing.normalize import InputSpec, to_model_input

MASK_FIELDS = ("detector_size", "quantize", "text_threshold", "low_text", "link_threshold", "min_size",
               "mask_margin", "inpaint_radius", "min_ink_left")
# Named only when the PP-OCR detector masks, so the descriptors of indexes masked with CRAFT stay as they were.
DB_MASK_FIELDS = ("detector", "db_thresh", "db_box_thresh", "db_unclip_ratio")


def text_mask_descriptor(text: TextSettings) -> str:
    """"off", or the mask parameters as compact JSON (compared verbatim between index and query)."""
    if not text.mask:
        return "off"
    fields = MASK_FIELDS + (DB_MASK_FIELDS if text.detector != "craft" else ())
    return json.dumps({name: getattr(text, name) for name in fields}, sort_keys=True, separators=(",", ":"))


def text_settings_from_descriptor(descriptor: str, base: TextSettings) -> TextSettings:
    if descriptor == "off":
        return base.model_copy(update={"mask": False})
    return base.model_copy(update={"mask": True, "detector": "craft", **json.loads(descriptor)})


@dataclass
class PreparedLogo:
    array: np.ndarray
    ocr: object | None = None  # OcrResult when text masking ran


def plain_preprocessor(spec: InputSpec) -> Preprocessor:
    """Normalisation only (the spec's text mask must be off): for embedders built by hand."""
    return Preprocessor(spec, TextSettings(mask=False), ".")


class Preprocessor:
    """``preprocess(image) -> PreparedLogo``; the OCR models are loaded on first use only."""

    def __init__(self, spec: InputSpec, text: TextSettings, cache_dir: str | Path) -> None:
        self.spec = spec
        self.text = text_settings_from_descriptor(spec.text_mask, text)
        self.cache_dir = Path(cache_dir).expanduser()

    def __call__(self, image: Image.Image) -> PreparedLogo:
        if self.spec.text_mask == "off":
            return PreparedLogo(to_model_input(image, self.spec))
        from logo_similarity.preprocessing.text_mask import remove_text

        masked = remove_text(image, self.text, self.cache_dir)
        return PreparedLogo(to_model_input(masked.image, self.spec), masked.ocr)
