"""Remove the words from a logo so the embedder compares shapes: inpaint the detected text boxes.

The recognised text and the boxes are kept (``MaskedLogo``) for the name comparison; a logo with no text
comes back unchanged (the same pixels, not a copy through the inpainter).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from logo_similarity.config import TextSettings
from logo_similarity.text.ocr import OcrResult, read_text


@dataclass
class MaskedLogo:
    image: Image.Image
    ocr: OcrResult
    kept_as_word_mark: bool = False


def ink(rgb: np.ndarray, background: tuple[int, int, int] = (255, 255, 255), tolerance: int = 60) -> int:
    """Pixels that differ visibly from the background colour."""
    return int((np.abs(rgb.astype(np.int16) - np.asarray(background, np.int16)).sum(axis=2) > tolerance).sum())


def text_mask(shape: tuple[int, int], ocr: OcrResult, margin: int) -> np.ndarray:
    """uint8 mask (255 = text) of the OCR boxes and polygons, grown by ``margin`` px."""
    mask = np.zeros(shape, dtype=np.uint8)
    for x0, y0, x1, y1 in ocr.boxes:
        mask[max(0, y0) : y1, max(0, x0) : x1] = 255
    for poly in ocr.polygons:
        cv2.fillPoly(mask, [np.asarray(poly, dtype=np.int32)], 255)
    if margin and mask.any():
        mask = cv2.dilate(mask, np.ones((2 * margin + 1, 2 * margin + 1), np.uint8))
    return mask


def mask_text(image: Image.Image, ocr: OcrResult, settings: TextSettings) -> Image.Image:
    if not ocr:
        return image
    rgb = np.asarray(image.convert("RGB"))
    mask = text_mask(rgb.shape[:2], ocr, settings.mask_margin)
    filled = cv2.inpaint(rgb, mask, settings.inpaint_radius, cv2.INPAINT_TELEA)
    return Image.fromarray(filled)


def fill_text(image: Image.Image, ocr: OcrResult, margin: int, colour: np.ndarray) -> Image.Image:
    """The OCR boxes (grown by ``margin``) painted over with ``colour``: what ``mask_text`` gives on a plain
    background, at a tenth of the cost (inpainting is ~20 ms a mark on 2 cores); where a box overlaps the figure
    the overlap is blank rather than guessed."""
    if not ocr:
        return image
    rgb = np.array(image.convert("RGB"))
    rgb[text_mask(rgb.shape[:2], ocr, margin) > 0] = np.asarray(colour, dtype=np.uint8)
    return Image.fromarray(rgb)


def remove_text(image: Image.Image, settings: TextSettings, cache_dir: Path, recognize: bool = False) -> MaskedLogo:
    """Detect text (recognising it only when asked) and inpaint it away.

    When masking would leave less than ``settings.min_ink_left`` of the logo's ink, the words are the mark
    (a word mark) and the image is returned unmasked, with the OCR result still attached.
    """
    ocr = read_text(image, settings, cache_dir, recognize=recognize)
    masked = mask_text(image, ocr, settings)
    if masked is not image and settings.min_ink_left > 0:
        before = ink(np.asarray(image.convert("RGB")))
        if before and ink(np.asarray(masked)) < settings.min_ink_left * before:
            return MaskedLogo(image, ocr, kept_as_word_mark=True)
    return MaskedLogo(masked, ocr)
