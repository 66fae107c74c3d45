"""The word recogniser on onnxruntime reads what EasyOCR's own torch recogniser reads (real weights, offline)."""

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from logo_similarity.synthetic import font_path, random_text_logo, render_text_logo
from logo_similarity.text.ocr import read_text
from logo_similarity.text.recognizer import decode_greedy


@pytest.fixture(scope="module")
def cache(settings):
    from pathlib import Path

    return Path(settings.model.cache_dir)


def _fixtures() -> list[Image.Image]:
    """Rendered word marks and composites: several fonts, sizes, colours, one and two lines, a pale word."""
    images = [render_text_logo(word, seed=i) for i, word in enumerate(["NOVA", "ORBIT LABS", "Lumen", "PIXEL 24"])]
    images += [random_text_logo(seed)[0] for seed in range(20_000, 20_008)]
    pale = Image.new("RGB", (256, 160), "white")
    ImageDraw.Draw(pale).text((128, 80), "KESTREL", font=ImageFont.truetype(str(font_path("DejaVuSans.ttf")), 34),
                              fill=(200, 200, 200), anchor="mm")
    return images + [pale]


def test_onnx_reads_the_same_words_as_easyocrs_torch_recogniser(settings, cache):
    onnx, torch = (settings.text.model_copy(update={"recognizer": r}) for r in ("onnx", "torch"))
    read = 0
    for image in _fixtures():
        by_torch, by_onnx = read_text(image, torch, cache), read_text(image, onnx, cache)
        assert by_onnx.boxes == by_torch.boxes  # one detector
        assert by_onnx.texts == by_torch.texts
        # EasyOCR's torch network is int8 on a CPU, ours the fp32 network: the words agree, the confidences nearly
        np.testing.assert_allclose(by_onnx.confidences, by_torch.confidences, atol=0.2)
        read += bool(by_onnx.text)
    assert read >= 10  # the fixtures do carry words that both read


def test_greedy_decoding_collapses_repeats_drops_blanks_and_ignored_characters():
    characters = ["[blank]", "A", "B", "é"]
    steps = [1, 1, 0, 1, 2, 2, 3, 0]  # A A _ A B B é _
    logits = np.full((len(steps), 4), -10.0)
    logits[np.arange(len(steps)), steps] = 10.0
    text, confidence = decode_greedy(logits, characters, np.array([3]))
    # "é" is outside the language: its probability goes to the others, and the step reads as its runner-up
    assert text.startswith("AAB") and 0.0 < confidence <= 1.0
    plain, sure = decode_greedy(logits, characters, np.array([], dtype=np.int64))
    assert plain == "AABé" and sure > 0.99
    assert decode_greedy(np.zeros((3, 4)) + np.array([5.0, 0, 0, 0]), characters, np.array([3]))[0] == ""
