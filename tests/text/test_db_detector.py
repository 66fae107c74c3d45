"""PP-OCRv4's text detector (real ONNX weights from rapidocr-onnxruntime's wheel) and DB post-processing."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from logo_similarity.preprocessing.pipeline import text_mask_descriptor, text_settings_from_descriptor
from logo_similarity.synthetic import font_path
from logo_similarity.text import db_detector
from logo_similarity.text.db_detector import db_boxes
from logo_similarity.text.errors import OcrModelError
from logo_similarity.text.ocr import read_text


@pytest.fixture(scope="module")
def pp_text(settings):
    return settings.text.model_copy(update={"detector": "ppocr"})


@pytest.fixture(scope="module")
def cache(settings):
    return Path(settings.model.cache_dir)


def _logo(words: str, angle: float = 0.0) -> Image.Image:
    img = Image.new("RGB", (256, 256), "white")
    draw = ImageDraw.Draw(img)
    draw.ellipse((78, 20, 178, 120), fill=(180, 40, 40))
    draw.text((128, 170), words, font=ImageFont.truetype(str(font_path("DejaVuSans-Bold.ttf")), 28),
              fill=(20, 20, 20), anchor="mm")
    return img.rotate(angle, fillcolor="white") if angle else img


def test_db_boxes_grow_a_text_core_by_its_unclip_distance():
    prob = np.zeros((100, 200), np.float32)
    prob[40:60, 50:150] = 0.9  # a 100 x 20 core of text
    (rect,) = db_boxes(prob, thresh=0.3, box_thresh=0.5, unclip_ratio=1.6)
    (cx, cy), (w, h), _ = rect
    long, short = max(w, h), min(w, h)
    grow = 100 * 20 * 1.6 / (2 * (100 + 20))  # area * ratio / perimeter, on every side
    assert abs(cx - 100) < 1.5 and abs(cy - 50) < 1.5
    assert abs(long - (100 + 2 * grow)) < 3 and abs(short - (20 + 2 * grow)) < 3


def test_db_boxes_drop_faint_regions_and_specks():
    prob = np.zeros((100, 200), np.float32)
    prob[10:30, 10:90] = 0.4  # above the pixel threshold, under the box threshold
    prob[80:82, 150:152] = 0.9  # a speck under 3 px
    assert db_boxes(prob, thresh=0.3, box_thresh=0.5, unclip_ratio=1.6) == []


def test_reads_the_line_and_not_the_circle(pp_text, cache):
    result = read_text(_logo("ACME COFFEE"), pp_text, cache)
    assert result.text.upper().replace("0", "O") == "ACME COFFEE"
    (x0, y0, x1, y1), = result.boxes
    assert x0 < 40 and x1 > 215 and 140 < y0 < 165 and 175 < y1 < 205
    assert not result.polygons


def test_a_tilted_line_is_a_quadrilateral(pp_text, cache):
    result = read_text(_logo("ACME COFFEE", angle=25), pp_text, cache, recognize=False)
    assert not result.boxes and len(result.polygons) == 1 and len(result.polygons[0]) == 4


def test_no_text_no_boxes(pp_text, cache):
    img = Image.new("RGB", (200, 200), "white")
    ImageDraw.Draw(img).polygon([(100, 20), (180, 170), (20, 170)], fill=(0, 90, 200))
    assert not read_text(img, pp_text, cache)


def test_missing_weights_package_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(db_detector.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(OcrModelError, match="pip install --no-deps rapidocr-onnxruntime"):
        db_detector.ppocr_det_model()


def test_mask_descriptor_names_the_detector_only_when_it_is_not_craft(settings):
    craft = settings.text.model_copy(update={"mask": True, "detector": "craft"})
    pp = settings.text.model_copy(update={"mask": True, "detector": "ppocr"})
    assert '"detector"' not in text_mask_descriptor(craft)  # indexes masked with CRAFT keep their descriptor
    assert text_mask_descriptor(pp) != text_mask_descriptor(craft)
    assert text_settings_from_descriptor(text_mask_descriptor(craft), pp).detector == "craft"
    assert text_settings_from_descriptor(text_mask_descriptor(pp), craft).detector == "ppocr"
