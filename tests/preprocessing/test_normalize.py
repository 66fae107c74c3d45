import numpy as np
from PIL import Image

from logo_similarity.embeddings.spec import ModelSpec
from logo_similarity.preprocessing import normalize_logo, pad_to_square, to_model_input

SPEC = ModelSpec("x", "w", 64, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), "avg", 0.0, 8)


def test_pad_to_square_centres_without_cropping():
    img = Image.new("RGB", (100, 40), (0, 0, 0))
    out = pad_to_square(img)
    assert out.size == (100, 100)
    assert out.getpixel((50, 10)) == (255, 255, 255)  # padding on top
    assert out.getpixel((50, 50)) == (0, 0, 0)
    assert out.getpixel((0, 31)) == (0, 0, 0) and out.getpixel((99, 68)) == (0, 0, 0)


def test_normalize_resizes_to_input_size():
    assert normalize_logo(Image.new("RGB", (300, 120)), SPEC).size == (64, 64)


def test_model_input_layout_and_scaling():
    arr = to_model_input(Image.new("RGB", (10, 10), (255, 255, 255)), SPEC)
    assert arr.shape == (3, 64, 64) and arr.dtype == np.float32
    np.testing.assert_allclose(arr, 1.0)  # white with mean=std=0.5
    black = to_model_input(Image.new("RGB", (10, 10), (0, 0, 0)), SPEC)
    np.testing.assert_allclose(black, -1.0)


def test_gray_mode_makes_colour_variants_identical():
    from dataclasses import replace

    gray = replace(SPEC, color_mode="gray")
    red, blue = Image.new("RGB", (10, 10), (200, 30, 30)), Image.new("RGB", (10, 10), (30, 30, 200))
    assert not np.allclose(to_model_input(red, SPEC), to_model_input(blue, SPEC))
    a, b = to_model_input(red, gray), to_model_input(red, gray)
    np.testing.assert_array_equal(a, b)
    assert np.allclose(a[0], a[1]) and np.allclose(a[1], a[2])  # three equal channels
