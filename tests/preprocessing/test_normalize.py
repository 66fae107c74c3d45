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


def test_normalize_resizes_to_input_size_keeping_the_aspect():
    out = normalize_logo(Image.new("RGB", (300, 120), (0, 0, 0)), SPEC)
    assert out.size == (64, 64)
    column = np.asarray(out)[:, 32, 0]
    assert column[:10].min() > 240 and column[-10:].min() > 240  # padded above and below, not stretched
    assert column[22:42].max() < 15  # the 120/300 band of content, centred (64 * 0.4 = 25.6 rows)


def test_model_input_layout_and_scaling():
    arr = to_model_input(Image.new("RGB", (10, 10), (255, 255, 255)), SPEC)
    assert arr.shape == (3, 64, 64) and arr.dtype == np.float32
    np.testing.assert_allclose(arr, 1.0)  # white with mean=std=0.5
    black = to_model_input(Image.new("RGB", (10, 10), (0, 0, 0)), SPEC)
    np.testing.assert_allclose(black, -1.0)


def test_gray_mode_makes_colour_variants_of_equal_lightness_identical():
    from dataclasses import replace

    gray = replace(SPEC, color_mode="gray")
    # two different colours of the same luminance (ITU-R 601: 0.299 R + 0.587 G + 0.114 B = 80.8)
    red, teal = Image.new("RGB", (10, 10), (200, 30, 30)), Image.new("RGB", (10, 10), (30, 100, 115))
    assert not np.allclose(to_model_input(red, SPEC), to_model_input(teal, SPEC))  # colour mode tells them apart
    a, b = to_model_input(red, gray), to_model_input(teal, gray)
    np.testing.assert_array_equal(a, b)  # gray mode does not
    assert np.allclose(a[0], a[1]) and np.allclose(a[1], a[2])  # three equal channels
    np.testing.assert_allclose(a[0, 5, 5], 81 / 255 / 0.5 - 1.0, atol=1e-6)  # the luminance, scaled like RGB
    dark = to_model_input(Image.new("RGB", (10, 10), (20, 20, 20)), gray)
    assert not np.allclose(a, dark)  # lightness still counts
