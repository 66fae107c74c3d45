"""A mark's elements: its words (OCR boxes, text, confidence) and its figure (the device), and its kind.

Most figurative trademarks are composite marks, a device plus words, and a conflict can sit in either element:
the same device under other words, or words that sound the same under another device. ``split_elements`` is
the one split, called at index time (``indexing/embedding.py``) and at query time (``search/query.py``):

- the text boxes OCR found that are shaped like words (not a lone glyph of the device) are removed: painted over
  with the background colour (``text_mask.fill_text``, ``elements.word_fill: background``) or inpainted as text
  masking does (``text_mask.mask_text``, ``inpaint``; ~20 ms a mark more);
- what ink is left, less the crumbs the words leave (a serif, an accent outside a box), is the figure: cropped to
  its ink box and re-fitted on a square canvas (``figure_fit`` of its side), so a 40 px emblem beside big
  lettering is compared at the scale of a plain device;
- the kind: ``figurative`` (no text found), ``word`` (the words carry nearly all the ink, or nothing
  figure-sized is left), ``composite`` (both). Only a composite has a figure: a word mark is never compared
  by what masking leaves of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from logo_similarity.config import ElementSettings, TextSettings
from logo_similarity.preprocessing.text_mask import fill_text, mask_text
from logo_similarity.text.ocr import OcrResult

KINDS = ("figurative", "word", "composite")


@dataclass
class Elements:
    kind: str
    ocr: OcrResult = field(default_factory=OcrResult)
    figure: Image.Image | None = None  # the re-fitted figure (composites only)
    figure_box: tuple[int, int, int, int] | None = None  # its ink box in the mark (x0, y0, x1, y1)
    read: OcrResult | None = None  # everything OCR found (lone glyphs too): where a name is read from

    def describe(self) -> dict:
        """What an index stores of the split, and what a result shows of it (JSON-able)."""
        words = [[t, round(float(c), 4)] for t, c in zip(self.ocr.texts, self.ocr.confidences)]
        return {"kind": self.kind, "figure_box": list(self.figure_box) if self.figure_box else None,
                "text_boxes": [list(b) for b in self.ocr.boxes] + [[c for p in q for c in p] for q in self.ocr.polygons],
                "words": words}


def background_colour(rgb: np.ndarray) -> np.ndarray:
    """The median colour of the image border (logos sit on a plain background)."""
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    return np.median(border, axis=0)


def ink_mask(rgb: np.ndarray, background: np.ndarray, tolerance: int) -> np.ndarray:
    """Pixels that differ visibly from the background (sum of channel differences over ``tolerance``)."""
    return np.abs(rgb.astype(np.int16) - background.astype(np.int16)).sum(axis=2) > tolerance


def figure_ink_box(ink: np.ndarray, min_fragment: float) -> tuple[int, int, int, int] | None:
    """Box (x0, y0, x1, y1) of the ink, blobs under ``min_fragment`` of it left out; None when there is none."""
    total = int(ink.sum())
    if not total:
        return None
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    keep = [i for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] >= min_fragment * total]
    if not keep:
        return None
    x0 = min(stats[i, cv2.CC_STAT_LEFT] for i in keep)
    y0 = min(stats[i, cv2.CC_STAT_TOP] for i in keep)
    x1 = max(stats[i, cv2.CC_STAT_LEFT] + stats[i, cv2.CC_STAT_WIDTH] for i in keep)
    y1 = max(stats[i, cv2.CC_STAT_TOP] + stats[i, cv2.CC_STAT_HEIGHT] for i in keep)
    return int(x0), int(y0), int(x1), int(y1)


def refit(image: Image.Image, box: tuple[int, int, int, int], fit: float, background: np.ndarray) -> Image.Image:
    """The ``box`` of ``image`` centred on a square canvas whose side its longer side fills to ``fit``."""
    crop = image.crop(box)
    side = int(round(max(crop.size) / fit))
    canvas = Image.new("RGB", (side, side), tuple(int(c) for c in background))
    canvas.paste(crop, ((side - crop.width) // 2, (side - crop.height) // 2))
    return canvas


def word_boxes(ocr: OcrResult, min_aspect: float) -> OcrResult:
    """The boxes of ``ocr`` shaped like words (at least ``min_aspect`` times as long as high), with their texts:
    a lone glyph CRAFT finds in a device (a "4", an "R" in a circle) belongs to the figure."""
    def aspect(points) -> float:
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        return (max(xs) - min(xs)) / max(1, max(ys) - min(ys))

    keep_boxes = [aspect([(b[0], b[1]), (b[2], b[3])]) >= min_aspect for b in ocr.boxes]
    keep_polys = [aspect(q) >= min_aspect for q in ocr.polygons]
    keep = keep_boxes + keep_polys
    texts_align = len(ocr.texts) == len(keep)
    return OcrResult(
        [b for b, k in zip(ocr.boxes, keep_boxes) if k], [q for q, k in zip(ocr.polygons, keep_polys) if k],
        [t for t, k in zip(ocr.texts, keep) if k] if texts_align else list(ocr.texts),
        [c for c, k in zip(ocr.confidences, keep) if k] if texts_align else list(ocr.confidences),
    )


def split_elements(image: Image.Image, ocr: OcrResult, elements: ElementSettings, text: TextSettings) -> Elements:
    """The mark's kind and, for a composite, its figure, from the text OCR found in it (see the module)."""
    read, ocr = ocr, word_boxes(ocr, elements.min_word_aspect)
    if not ocr:
        return Elements("figurative", ocr, read=read)
    rgb = np.asarray(image.convert("RGB"))
    background = background_colour(rgb)
    before = ink_mask(rgb, background, elements.ink_tolerance)
    if elements.word_fill == "inpaint":
        masked = mask_text(image.convert("RGB"), ocr, text)
    else:
        masked = fill_text(image, ocr, text.mask_margin, background)
    left = ink_mask(np.asarray(masked), background, elements.ink_tolerance) & before
    box = figure_ink_box(left, elements.min_fragment)
    if box is None or not before.any() or left.sum() < elements.min_figure_ink * before.sum() \
            or max(box[2] - box[0], box[3] - box[1]) < elements.min_figure_px:
        return Elements("word", ocr, read=read)
    return Elements("composite", ocr, refit(masked, box, elements.figure_fit, background), box, read)


# What decides where a mark's figure is cut: the text detector that finds its words, and how they are removed.
SPLIT_TEXT_FIELDS = ("detector", "detector_size", "quantize")
SPLIT_ELEMENT_FIELDS = ("word_fill",)


def split_descriptor(text: TextSettings, elements: ElementSettings) -> dict:
    """How figures are cut under these settings, recorded with an index's figure vectors."""
    return {**{k: getattr(text, k) for k in SPLIT_TEXT_FIELDS},
            **{k: getattr(elements, k) for k in SPLIT_ELEMENT_FIELDS}}


@dataclass(frozen=True)
class ElementReader:
    """``reader(image, recognize) -> Elements``: OCR with these settings (recognising the words only when asked),
    then ``split_elements``; the OCR models load on first use."""

    text: TextSettings
    elements: ElementSettings
    cache_dir: str

    def cutting_as(self, recorded: dict | None) -> ElementReader:
        """This reader, cutting figures as an index recorded its were cut (``split_descriptor``): a query, or a
        mark added later, is split like the marks already there, whatever this process's settings say (an
        index without the record: unchanged)."""
        text = {k: recorded[k] for k in SPLIT_TEXT_FIELDS
                if recorded and k in recorded and recorded[k] != getattr(self.text, k)}
        elements = {k: recorded[k] for k in SPLIT_ELEMENT_FIELDS
                    if recorded and k in recorded and recorded[k] != getattr(self.elements, k)}
        if not text and not elements:
            return self  # the usual case, on every query: no settings copied
        return ElementReader(self.text.model_copy(update=text), self.elements.model_copy(update=elements),
                             self.cache_dir)

    def __call__(self, image: Image.Image, recognize: bool = False) -> Elements:
        from pathlib import Path

        from logo_similarity.text.ocr import read_text

        ocr = read_text(image, self.text, Path(self.cache_dir).expanduser(), recognize=recognize)
        return split_elements(image, ocr, self.elements, self.text)


def element_reader(settings) -> ElementReader | None:
    """The reader for ``settings`` (a ``Settings``: its ``elements`` and ``text`` sections, the model cache), or
    None when elements are off."""
    if not settings.elements.enabled:
        return None
    return ElementReader(settings.text, settings.elements, str(settings.model.cache_dir))
