import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from logo_similarity.config import ImageSettings
from logo_similarity.preprocessing import (
    CorruptImageError,
    DecompressionBombError,
    EmptyImageError,
    ImageTooLargeError,
    ImageTooSmallError,
    UnsupportedFormatError,
    load_image,
)


def encode(image: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **kw)
    return buf.getvalue()


def red_square(mode="RGB", size=(40, 30)):
    return Image.new(mode, size, (200, 0, 0) if mode == "RGB" else None)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP", "TIFF", "BMP"])
def test_every_supported_format_decodes_to_rgb(fmt):
    img = load_image(encode(Image.new("RGB", (40, 30), (200, 0, 0)), fmt))
    assert img.mode == "RGB" and img.size == (40, 30)
    r, g, b = img.getpixel((20, 15))
    assert r > 150 and g < 60 and b < 60


def test_alpha_is_composited_on_white_not_dropped():
    rgba = Image.new("RGBA", (20, 20), (0, 0, 0, 0))  # fully transparent *black*
    rgba.paste((0, 0, 255, 255), (5, 5, 15, 15))
    img = load_image(encode(rgba, "PNG"))
    assert img.getpixel((0, 0)) == (255, 255, 255)
    assert img.getpixel((10, 10)) == (0, 0, 255)


def test_half_transparent_pixels_blend_with_background():
    rgba = Image.new("RGBA", (20, 20), (0, 0, 0, 128))
    value = load_image(encode(rgba, "PNG")).getpixel((3, 3))[0]
    assert 120 < value < 135


def test_palette_with_transparency():
    p = Image.new("P", (20, 20), 0)
    p.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    p.paste(1, (5, 5, 15, 15))
    data = encode(p, "PNG", transparency=0)
    img = load_image(data)
    assert img.getpixel((0, 0)) == (255, 255, 255)
    assert img.getpixel((10, 10)) == (255, 0, 0)


def test_cmyk_jpeg_converted():
    img = load_image(encode(Image.new("CMYK", (20, 20), (0, 255, 255, 0)), "JPEG"))
    r, g, b = img.getpixel((10, 10))
    assert img.mode == "RGB" and r > 200 and g < 60 and b < 60


def test_16_bit_grayscale_uses_full_range():
    arr = np.zeros((20, 20), dtype=np.uint16)
    arr[:, 10:] = 60000
    img = load_image(encode(Image.fromarray(arr), "PNG"))
    assert img.getpixel((0, 0)) == (0, 0, 0)
    assert img.getpixel((15, 0)) == (255, 255, 255)


def test_grayscale_and_la():
    assert load_image(encode(Image.new("L", (20, 20), 90), "PNG")).getpixel((1, 1)) == (90, 90, 90)
    assert load_image(encode(Image.new("LA", (20, 20), (0, 0)), "PNG")).getpixel((1, 1)) == (255, 255, 255)


def test_exif_orientation_applied():
    img = Image.new("RGB", (40, 20), "white")
    img.paste((255, 0, 0), (0, 0, 10, 20))  # red band on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display
    out = load_image(encode(img, "JPEG", exif=exif.tobytes(), quality=95))
    assert out.size == (20, 40)
    r, g, _ = out.getpixel((10, 3))  # left band is now at the top
    assert r > 200 and g < 80


def test_animation_gives_first_frame():
    frames = [Image.new("RGB", (20, 20), c) for c in ((255, 0, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    r, _, b = load_image(buf.getvalue()).getpixel((10, 10))
    assert r > 200 and b < 50


def test_reads_from_path(tmp_path):
    path = tmp_path / "logo.png"
    Image.new("RGB", (30, 30), "blue").save(path)
    assert load_image(path).size == (30, 30)


def test_missing_file(tmp_path):
    with pytest.raises(Exception, match="cannot read file"):
        load_image(tmp_path / "nope.png")


def test_empty_input(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(EmptyImageError, match="empty"):
        load_image(tmp_path / "empty.png")
    with pytest.raises(EmptyImageError):
        load_image(b"")


def test_non_image_bytes():
    with pytest.raises(UnsupportedFormatError, match="not an image"):
        load_image(b"hello, this is a text file, not a logo" * 10)


def test_svg_and_pdf_are_unsupported():
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'
    with pytest.raises(UnsupportedFormatError):
        load_image(svg)
    with pytest.raises(UnsupportedFormatError):
        load_image(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_files(fmt):
    data = encode(Image.effect_noise((200, 200), 50).convert("RGB"), fmt)
    with pytest.raises(CorruptImageError, match="truncated or corrupt"):
        load_image(data[: len(data) // 2])


def test_corrupt_header():
    data = bytearray(encode(Image.new("RGB", (20, 20)), "PNG"))
    data[16:24] = b"\xff" * 8  # width/height in IHDR become nonsense; CRC no longer matches
    with pytest.raises(CorruptImageError, match="corrupt"):
        load_image(bytes(data))


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG claiming huge dimensions whose pixel data is never there: the classic bomb probe."""
    def chunk(tag, payload):
        return struct.pack(">I", len(payload)) + tag + payload + struct.pack(">I", zlib.crc32(tag + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def test_decompression_bomb_rejected_before_decoding():
    with pytest.raises(DecompressionBombError, match="pixels"):
        load_image(_png_header_only(60000, 60000))


def test_pixel_limit_from_settings():
    with pytest.raises(DecompressionBombError, match="exceeds the limit"):
        load_image(encode(Image.new("RGB", (100, 100)), "PNG"), ImageSettings(max_pixels=5000))


def test_too_many_bytes(tmp_path):
    data = encode(Image.effect_noise((100, 100), 80).convert("RGB"), "PNG")
    with pytest.raises(ImageTooLargeError, match="limit"):
        load_image(data, ImageSettings(max_bytes=100))
    (tmp_path / "big.png").write_bytes(data)
    with pytest.raises(ImageTooLargeError):
        load_image(tmp_path / "big.png", ImageSettings(max_bytes=100))


def test_tiny_images_rejected():
    with pytest.raises(ImageTooSmallError, match="1x1"):
        load_image(encode(Image.new("RGB", (1, 1)), "PNG"))
