"""Safe image loading: the one door through which every image enters the system.

Whatever the source format, the result is an 8-bit RGB ``PIL.Image`` with transparency composited on the
background colour and EXIF orientation applied. Anything that cannot be decoded into a real image raises a
subclass of :class:`ImageLoadError` whose message says what is wrong, so callers (CLI, API, index builder) can
report it and move on; nothing is turned into a blank image.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from logo_similarity.config import ImageSettings

SUPPORTED_FORMATS = frozenset({"PNG", "JPEG", "GIF", "WEBP", "TIFF", "BMP", "MPO"})
# File signatures of the supported formats: a file that starts like one but does not decode is corrupt,
# not of an unsupported kind.
_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*", b"BM")


class ImageLoadError(ValueError):
    """An input could not be turned into an image. ``reason`` is a short machine-readable kind."""

    reason = "unreadable"


class EmptyImageError(ImageLoadError):
    reason = "empty"


class UnsupportedFormatError(ImageLoadError):
    reason = "unsupported_format"


class CorruptImageError(ImageLoadError):
    reason = "corrupt"


class DecompressionBombError(ImageLoadError):
    reason = "decompression_bomb"


class ImageTooLargeError(ImageLoadError):
    reason = "too_large"


class ImageTooSmallError(ImageLoadError):
    reason = "too_small"


def _read_bytes(source: str | Path | bytes, settings: ImageSettings) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), "<bytes>"
    else:
        path = Path(source)
        name = str(path)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise ImageLoadError(f"{name}: cannot read file ({exc.strerror or exc})") from exc
        if size > settings.max_bytes:
            raise ImageTooLargeError(f"{name}: file is {size} bytes, limit is {settings.max_bytes}")
        data = path.read_bytes()
    if not data:
        raise EmptyImageError(f"{name}: file is empty")
    if len(data) > settings.max_bytes:
        raise ImageTooLargeError(f"{name}: {len(data)} bytes, limit is {settings.max_bytes}")
    return data, name


def _to_rgb(image: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    """Convert any mode to RGB; transparent pixels become ``background`` (alpha-composited, not dropped)."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16/32-bit grayscale: scale the real value range to 8 bits instead of clipping at 255.
        arr = np.asarray(image, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        image = Image.fromarray(((arr - lo) * scale).astype(np.uint8), mode="L")
    elif image.mode == "F":
        arr = np.asarray(image, dtype=np.float64)
        image = Image.fromarray(np.clip(arr * 255.0 if arr.max() <= 1.0 else arr, 0, 255).astype(np.uint8), "L")
    if image.mode == "P":
        image = image.convert("RGBA") if "transparency" in image.info else image.convert("RGB")
    if image.mode in ("LA", "PA", "La"):
        image = image.convert("RGBA")
    if image.mode == "RGBa":
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        canvas = Image.new("RGB", image.size, background)
        canvas.paste(image, mask=image.getchannel("A"))
        return canvas
    if image.mode == "CMYK":
        return image.convert("RGB")
    return image.convert("RGB")


def load_image(source: str | Path | bytes, settings: ImageSettings | None = None) -> Image.Image:
    """Decode ``source`` (a path or the encoded bytes) into an RGB image on the background colour.

    Raises:
        ImageLoadError: (a subclass per kind) for empty, non-image, unsupported, truncated, corrupt,
            too large (bytes or pixels) or too small input.
    """
    settings = settings or ImageSettings()
    data, name = _read_bytes(source, settings)
    with warnings.catch_warnings():
        # PIL warns before raising for images between 1x and 2x the limit: treat both the same way.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except UnidentifiedImageError as exc:
            if data.startswith(_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
                raise CorruptImageError(f"{name}: image header is corrupt") from exc
            raise UnsupportedFormatError(
                f"{name}: not an image in a supported format ({', '.join(sorted(SUPPORTED_FORMATS - {'MPO'}))})"
            ) from exc
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise DecompressionBombError(f"{name}: too many pixels ({exc})") from exc
        except (OSError, SyntaxError, ValueError) as exc:
            raise CorruptImageError(f"{name}: cannot decode image header ({exc})") from exc
    if image.format not in SUPPORTED_FORMATS:
        raise UnsupportedFormatError(f"{name}: format {image.format} is not supported")
    width, height = image.size
    if width * height > settings.max_pixels:
        raise DecompressionBombError(
            f"{name}: {width}x{height} = {width * height} pixels exceeds the limit of {settings.max_pixels}"
        )
    if min(width, height) < settings.min_side:
        raise ImageTooSmallError(f"{name}: {width}x{height} is smaller than {settings.min_side} px on a side")
    try:
        image.seek(0)  # first frame of an animation
        image.load()
        image = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise CorruptImageError(f"{name}: image data is truncated or corrupt ({exc})") from exc
    return _to_rgb(image, settings.background)
