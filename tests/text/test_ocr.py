"""Real EasyOCR weights, our ONNX CRAFT, real inpainting; everything offline."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from logo_similarity.synthetic import font_path
from logo_similarity.embeddings.spec import ModelSpec
from logo_similarity.preprocessing.pipeline import Preprocessor, text_mask_descriptor
from logo_similarity.preprocessing.text_mask import remove_text
from logo_similarity.retrieval import IndexMismatchError, SearchIndex
from logo_similarity.text.ocr import read_text


@pytest.fixture(scope="module")
def acme() -> Image.Image:
    img = Image.new("RGB", (256, 256), "white")
    draw = ImageDraw.Draw(img)
    draw.ellipse((78, 20, 178, 120), fill=(180, 40, 40))
    draw.text((128, 170), "ACME COFFEE", font=ImageFont.truetype(str(font_path("DejaVuSans-Bold.ttf")), 28),
              fill=(20, 20, 20), anchor="mm")
    return img


@pytest.fixture(scope="module")
def text_settings(settings):
    return settings.text.model_copy(update={"mask": True})


@pytest.fixture(scope="module")
def cache(settings):
    from pathlib import Path

    return Path(settings.model.cache_dir)


def test_reads_acme_coffee(acme, text_settings, cache):
    result = read_text(acme, text_settings, cache)
    assert result.text.upper().replace("0", "O") == "ACME COFFEE"
    (x0, y0, x1, y1), = result.boxes
    assert x0 < 40 and x1 > 215 and 140 < y0 < 165 and 175 < y1 < 200  # the line, not the circle


def test_masking_removes_the_text_and_keeps_the_shape(acme, text_settings, cache):
    masked = remove_text(acme, text_settings, cache)
    assert masked.ocr.boxes
    assert not read_text(masked.image, text_settings, cache, recognize=False)
    before, after = np.asarray(acme, dtype=int), np.asarray(masked.image, dtype=int)
    np.testing.assert_array_equal(after[15:125, 70:186], before[15:125, 70:186])  # circle untouched
    text_band = after[155:185, 20:236]
    assert (text_band > 200).all(axis=-1).mean() > 0.97  # the words are gone: background only


def test_logo_without_text_passes_through(text_settings, cache):
    img = Image.new("RGB", (200, 200), "white")
    ImageDraw.Draw(img).polygon([(100, 20), (180, 170), (20, 170)], fill=(0, 90, 200))
    masked = remove_text(img, text_settings, cache)
    assert not masked.ocr
    assert masked.image is img


def test_preprocessor_masks_only_when_the_spec_says_so(acme, text_settings, cache):
    spec = ModelSpec("x", "w", 224, (0.5,) * 3, (0.5,) * 3, "gem", 3.0, 8)
    plain = Preprocessor(spec, text_settings, cache)(acme)
    masked_spec = replace(spec, text_mask=text_mask_descriptor(text_settings))
    masked = Preprocessor(masked_spec, text_settings, cache)(acme)
    assert plain.ocr is None and masked.ocr
    assert not np.allclose(plain.array, masked.array)


def test_index_with_masking_refuses_an_unmasked_query_spec(text_settings):
    spec = ModelSpec("x", "w", 224, (0.5,) * 3, (0.5,) * 3, "gem", 3.0, 8)
    index = SearchIndex(replace(spec, text_mask=text_mask_descriptor(text_settings)))
    with pytest.raises(IndexMismatchError, match="text_mask"):
        index.check_compatible(spec)


def test_concurrent_use_gives_the_same_answer(acme, text_settings, cache):
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: read_text(acme, text_settings, cache), range(6)))
    assert len({(tuple(r.boxes), r.text) for r in results}) == 1


def test_word_mark_is_kept_when_masking_would_erase_it(text_settings, cache):
    from logo_similarity.synthetic import render_text_logo

    word_mark = render_text_logo("NOVA", seed=1, shape=False, size=48)
    plain = remove_text(word_mark, text_settings.model_copy(update={"min_ink_left": 0.0}), cache)
    assert plain.image is not word_mark and not plain.kept_as_word_mark
    guarded = remove_text(word_mark, text_settings.model_copy(update={"min_ink_left": 0.3}), cache)
    assert guarded.kept_as_word_mark and guarded.image is word_mark and guarded.ocr


def test_figure_with_words_is_still_masked_under_the_guard(acme, text_settings, cache):
    guarded = remove_text(acme, text_settings.model_copy(update={"min_ink_left": 0.3}), cache)
    assert not guarded.kept_as_word_mark and guarded.image is not acme
