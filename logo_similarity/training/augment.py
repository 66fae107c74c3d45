"""Augmentations that mirror how infringing copies change a logo.

Each transform is ``f(image, rng) -> image`` over an RGB logo on white, pure given the ``random.Random`` it is
handed (so a view is reproducible from its seed) and never modifies its input. ``augment`` composes 1-3 of them.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from logo_similarity.synthetic import FONTS, WORDS, font_path
from logo_similarity.datasets.transforms import crop, mirror, recolor

WHITE = (255, 255, 255)
Transform = Callable[[Image.Image, random.Random], Image.Image]


def _ink_box(image: Image.Image) -> tuple[int, int, int, int]:
    return ImageOps.invert(image.convert("L")).point(lambda v: 255 if v > 12 else 0).getbbox() or (0, 0, *image.size)


def recolour(image: Image.Image, rng: random.Random) -> Image.Image:
    """Hue shift / tint, colour inversion of the ink, or grayscale."""
    choice = rng.random()
    if choice < 0.5:
        return recolor(image, rng)
    if choice < 0.75:
        return image.convert("L").convert("RGB")
    arr = np.asarray(image, dtype=np.int16)
    ink = arr.min(axis=2, keepdims=True) < 245
    return Image.fromarray(np.where(ink, 255 - arr, arr).astype(np.uint8), "RGB")


def rotate(image: Image.Image, rng: random.Random) -> Image.Image:
    angle = rng.uniform(-30.0, 30.0)
    return image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=WHITE)


def scale(image: Image.Image, rng: random.Random) -> Image.Image:
    """Shrink the logo to 0.5-0.9 of the canvas and place it at a random offset."""
    w, h = image.size
    factor = rng.uniform(0.5, 0.9)
    small = image.resize((max(1, int(w * factor)), max(1, int(h * factor))), Image.Resampling.BICUBIC)
    canvas = Image.new("RGB", (w, h), WHITE)
    canvas.paste(small, (rng.randint(0, w - small.width), rng.randint(0, h - small.height)))
    return canvas


def background_shape(image: Image.Image, rng: random.Random) -> Image.Image:
    """A coloured ellipse, rounded rectangle or rectangle behind the (shrunk) logo."""
    w, h = image.size
    canvas = Image.new("RGB", (w, h), WHITE)
    draw = ImageDraw.Draw(canvas)
    colour = tuple(rng.randrange(120, 256) for _ in range(3))
    margin = int(w * rng.uniform(0.0, 0.08))
    box = (margin, margin, w - margin, h - margin)
    kind = rng.choice(("ellipse", "roundrect", "rect"))
    if kind == "ellipse":
        draw.ellipse(box, fill=colour)
    elif kind == "roundrect":
        draw.rounded_rectangle(box, radius=w // 6, fill=colour)
    else:
        draw.rectangle(box, fill=colour)
    inner = image.resize((int(w * 0.6), int(h * 0.6)), Image.Resampling.BICUBIC)
    mask = ImageOps.invert(inner.convert("L")).point(lambda v: 255 if v > 12 else v * 20)
    canvas.paste(inner, ((w - inner.width) // 2, (h - inner.height) // 2), mask)
    return canvas


def stroke(image: Image.Image, rng: random.Random) -> Image.Image:
    """Thicken (MinFilter 3/5) or thin (MaxFilter 3) the strokes."""
    if rng.random() < 0.6:
        return image.filter(ImageFilter.MinFilter(rng.choice((3, 5))))
    return image.filter(ImageFilter.MaxFilter(3))


def add_words(image: Image.Image, rng: random.Random) -> Image.Image:
    """A word under or beside the shrunk logo, in a DejaVu font."""
    w, h = image.size
    word = rng.choice(WORDS)
    below = rng.random() < 0.6
    canvas = Image.new("RGB", (w, h), WHITE)
    logo = image.resize((int(w * 0.65), int(h * 0.65)), Image.Resampling.BICUBIC)
    pos = ((w - logo.width) // 2, int(h * 0.04)) if below else (int(w * 0.02), (h - logo.height) // 2)
    canvas.paste(logo, pos)
    draw = ImageDraw.Draw(canvas)
    size = int(h * rng.uniform(0.08, 0.14))
    face = ImageFont.truetype(str(font_path(rng.choice(FONTS))), size)
    colour = tuple(rng.randrange(0, 160) for _ in range(3))
    if below:
        draw.text((w / 2, h * 0.85), word, font=face, fill=colour, anchor="mm")
    else:
        draw.text((pos[0] + logo.width + 4, h / 2), word, font=face, fill=colour, anchor="lm")
    return canvas


def remove_words(image: Image.Image, rng: random.Random) -> Image.Image:
    """Drop a band at the top or bottom of the ink box (where words sit in combined marks)."""
    left, top, right, bottom = _ink_box(image)
    band = int((bottom - top) * rng.uniform(0.15, 0.3))
    out = image.copy()
    draw = ImageDraw.Draw(out)
    if rng.random() < 0.7:
        draw.rectangle((left, bottom - band, right, bottom), fill=WHITE)
    else:
        draw.rectangle((left, top, right, top + band), fill=WHITE)
    return out


def occlude(image: Image.Image, rng: random.Random) -> Image.Image:
    """A white rectangle over 5-15 % of the canvas, on the logo."""
    w, h = image.size
    left, top, right, bottom = _ink_box(image)
    area = rng.uniform(0.05, 0.15) * w * h
    aspect = rng.uniform(0.5, 2.0)
    rw, rh = int(min(w, (area * aspect) ** 0.5)), int(min(h, (area / aspect) ** 0.5))
    x = rng.randint(left, max(left, right - rw))
    y = rng.randint(top, max(top, bottom - rh))
    out = image.copy()
    ImageDraw.Draw(out).rectangle((x, y, x + rw, y + rh), fill=WHITE)
    return out


def jpeg(image: Image.Image, rng: random.Random) -> Image.Image:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=rng.randint(20, 50))
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def perspective(image: Image.Image, rng: random.Random) -> Image.Image:
    """A mild perspective warp: each corner moves by up to 12 % of the side."""
    w, h = image.size
    d = 0.12
    src = [(0, 0), (w, 0), (w, h), (0, h)]
    dst = [(x + rng.uniform(-d, d) * w, y + rng.uniform(-d, d) * h) for x, y in src]
    coeffs = _perspective_coeffs(dst, src)
    return image.transform((w, h), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC, fillcolor=WHITE)


def elastic(image: Image.Image, rng: random.Random) -> Image.Image:
    """A smooth random displacement field (alpha up to 4 % of the side)."""
    w, h = image.size
    seed = rng.randrange(2**32)
    gen = np.random.default_rng(seed)
    coarse = gen.uniform(-1, 1, size=(2, 5, 5)).astype(np.float32)
    amp = rng.uniform(0.01, 0.04) * w
    field = [np.asarray(Image.fromarray(c).resize((w, h), Image.Resampling.BICUBIC)) * amp for c in coarse]
    import cv2

    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    warped = cv2.remap(np.asarray(image), xs + field[0], ys + field[1], cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_CONSTANT, borderValue=WHITE)
    return Image.fromarray(warped, "RGB")


def _perspective_coeffs(dst, src) -> list[float]:
    rows = []
    for (x, y), (u, v) in zip(dst, src):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    a = np.asarray(rows, dtype=np.float64)
    b = np.asarray([c for pt in src for c in pt], dtype=np.float64)
    return np.linalg.solve(a, b).tolist()


TRANSFORMS: dict[str, Transform] = {
    "recolour": recolour, "mirror": mirror, "rotate": rotate, "scale": scale, "crop": crop,
    "bgshape": background_shape, "stroke": stroke, "add_words": add_words, "remove_words": remove_words,
    "occlude": occlude, "jpeg": jpeg, "perspective": perspective, "elastic": elastic,
}


def augment(image: Image.Image, rng: random.Random, names: tuple[str, ...] | None = None) -> tuple[Image.Image, list[str]]:
    """1-3 transforms (weights 0.3/0.4/0.3) drawn from ``names`` (default: all), applied in a random order."""
    pool = list(names or TRANSFORMS)
    count = rng.choices((1, 2, 3), weights=(0.3, 0.4, 0.3))[0]
    chosen = rng.sample(pool, min(count, len(pool)))
    for name in chosen:
        image = TRANSFORMS[name](image, rng)
    return image, chosen
