"""Deterministic logo modifications: the "modified copy" queries of the demo, the tests and training views.

Each takes an RGB image on white and a ``random.Random``; none of them changes the input image.
"""

from __future__ import annotations

import colorsys
import random

import numpy as np
from PIL import Image, ImageOps


def recolor(image: Image.Image, rng: random.Random) -> Image.Image:
    """Rotate the hue of the ink (non-white pixels); dark or gray ink gets a random colour tint instead."""
    arr = np.asarray(image, dtype=np.float32) / 255.0
    ink = 1.0 - arr.min(axis=2)
    shift = rng.uniform(0.15, 0.85)
    saturation = arr.max(axis=2) - arr.min(axis=2)
    if float((saturation * ink).sum()) < 0.05 * float(ink.sum() + 1e-6):
        tint = np.array(colorsys.hsv_to_rgb(rng.random(), 0.8, 0.85), dtype=np.float32)
        out = 1.0 - ink[..., None] * (1.0 - tint)
    else:
        hsv = np.asarray(image.convert("HSV"), dtype=np.float32)
        hsv[..., 0] = (hsv[..., 0] + shift * 255.0) % 256.0
        return Image.fromarray(hsv.astype(np.uint8), "HSV").convert("RGB")
    return Image.fromarray((out * 255.0).round().astype(np.uint8), "RGB")


def rotate(image: Image.Image, rng: random.Random, max_degrees: float = 25.0) -> Image.Image:
    angle = rng.uniform(5.0, max_degrees) * rng.choice((-1, 1))
    return image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(255, 255, 255))


def crop(image: Image.Image, rng: random.Random) -> Image.Image:
    """Remove 10-20% of the logo's bounding box from one side."""
    box = ImageOps.invert(image.convert("L")).getbbox() or (0, 0, *image.size)
    left, top, right, bottom = box
    cut = rng.uniform(0.10, 0.20)
    side = rng.choice(("left", "top", "right", "bottom"))
    if side == "left":
        left += int((right - left) * cut)
    elif side == "right":
        right -= int((right - left) * cut)
    elif side == "top":
        top += int((bottom - top) * cut)
    else:
        bottom -= int((bottom - top) * cut)
    return image.crop((left, top, right, bottom))


def mirror(image: Image.Image, rng: random.Random) -> Image.Image:
    return ImageOps.mirror(image)


def modified_copy(image: Image.Image, seed: int | str) -> tuple[Image.Image, list[str]]:
    """Recolour + rotate + crop, the standard modified copy; returns the image and the steps applied."""
    rng = random.Random(seed)
    out = image
    steps = []
    for name, step in (("recolor", recolor), ("rotate", rotate), ("crop", crop)):
        out = step(out, rng)
        steps.append(name)
    return out, steps
