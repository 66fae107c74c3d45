"""Rendered text logos (a shape plus words in DejaVu fonts) for OCR calibration, tests and benchmarks.

Deterministic for a given seed; never uses the benchmark's images.
"""

from __future__ import annotations

import random
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"), Path("/usr/share/fonts/TTF"))
FONTS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSansCondensed-Bold.ttf")
WORDS = ("ACME", "COFFEE", "NOVA", "Bistro", "LUMEN", "Orbit", "TECH", "Green", "Harbor", "PIXEL", "Solar", "MARKET",
         "Atlas", "BAKERY", "Zenith", "Vertex", "CLOUD", "Maple", "Falcon", "STUDIO")


class FontNotFoundError(FileNotFoundError):
    pass


@lru_cache(maxsize=None)
def font_path(name: str = "DejaVuSans-Bold.ttf") -> Path:
    for folder in FONT_DIRS:
        if (folder / name).is_file():
            return folder / name
    raise FontNotFoundError(f"font {name} not found in {[str(d) for d in FONT_DIRS]}: install fonts-dejavu-core")


def render_text_logo(text: str, side: int = 256, seed: int = 0, shape: bool = True,
                     font: str = "DejaVuSans-Bold.ttf", size: int | None = None) -> Image.Image:
    """A shape in the upper part and ``text`` centred below it, on white."""
    rng = random.Random(seed)
    img = Image.new("RGB", (side, side), "white")
    draw = ImageDraw.Draw(img)
    colour = tuple(rng.randrange(0, 200) for _ in range(3))
    if shape:
        r = side * rng.uniform(0.15, 0.22)
        cx, cy = side / 2 + rng.uniform(-0.1, 0.1) * side, side * 0.33
        if rng.random() < 0.5:
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
        else:
            draw.polygon([(cx, cy - r), (cx + r, cy + r), (cx - r, cy + r)], fill=colour)
    size = size or int(side * rng.uniform(0.08, 0.14))
    face = ImageFont.truetype(str(font_path(font)), size)
    while draw.textlength(text, font=face) > side * 0.92 and size > 8:
        size -= 2
        face = ImageFont.truetype(str(font_path(font)), size)
    ink = tuple(rng.randrange(0, 90) for _ in range(3))
    draw.text((side / 2, side * (0.72 if shape else 0.5)), text, font=face, fill=ink, anchor="mm")
    return img


def random_text_logo(seed: int, side: int = 256) -> tuple[Image.Image, str | None]:
    """A varied logo: one or two words (or, one time in six, none), random font, size and colour."""
    rng = random.Random(seed)
    if rng.random() < 1 / 6:
        img = render_text_logo("", side=side, seed=seed)
        return img, None
    text = " ".join(rng.sample(WORDS, rng.choice((1, 1, 2))))
    return render_text_logo(text, side=side, seed=seed, shape=rng.random() < 0.8, font=rng.choice(FONTS)), text


_ONSETS = ["", "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br", "cl",
           "dr", "fl", "gr", "kr", "pl", "st", "tr", "sh", "ch", "ph", "qu", "x"]
_VOWELS = ["a", "e", "i", "o", "u", "y", "ea", "oo", "ai", "ou", "ie"]
_CODAS = ["", "", "", "n", "r", "s", "x", "k", "ck", "l", "m", "t", "ng", "nd", "st"]
_SUFFIXES = ["tech", "group", "labs", "soft", "net", "pro", "shop", "co", "media", "foods"]
_SWAPS = [("c", "k"), ("k", "c"), ("ph", "f"), ("f", "ph"), ("i", "y"), ("y", "i"), ("s", "z"), ("x", "ks"),
          ("ck", "k"), ("oo", "u"), ("ea", "ee")]


def synthetic_name(rng: random.Random) -> str:
    """A pronounceable made-up mark name (1-4 syllables, sometimes a trade suffix), for name-search benchmarks."""
    word = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)
                   for _ in range(rng.choice((1, 2, 2, 3, 3, 4))))
    return (word + (" " + rng.choice(_SUFFIXES) if rng.random() < 0.15 else "")).capitalize()


def sound_alike_name(name: str, rng: random.Random) -> str:
    """``name`` respelt as a sound-alike (c/k, ph/f, i/y, ... swaps, sometimes a doubled letter), upper case."""
    out = name.lower()
    for _ in range(2):
        a, b = rng.choice(_SWAPS)
        if a in out:
            out = out.replace(a, b, 1)
    if rng.random() < 0.3:
        i = rng.randrange(len(out))
        out = out[:i] + out[i] + out[i:]
    return out.upper()


def render_composite(device: Image.Image, word: str, dominant: str = "word", above: bool = True,
                     font: str = "DejaVuSans.ttf", side: int = 256) -> Image.Image:
    """A composite mark: ``device`` (cropped to its ink) with ``word`` below (or above) it, centred on white.

    ``dominant`` "word": big lettering (46 px capitals) and a 48 px emblem, as a word-dominant register mark;
    "device": the device fills most of the mark (150 px) with small lettering (24 px capitals) under it.
    """
    gray = device.convert("L")
    box = Image.eval(gray, lambda v: 255 if v < 245 else 0).getbbox() or (0, 0, *device.size)
    emblem = device.crop(box)
    longest = 48 if dominant == "word" else 150
    scale = longest / max(emblem.size)
    emblem = emblem.resize((max(1, round(emblem.width * scale)), max(1, round(emblem.height * scale))),
                           Image.Resampling.LANCZOS)
    cap = 46 if dominant == "word" else 24
    face = ImageFont.truetype(str(font_path(font)), int(cap / 0.73))  # DejaVu capitals are ~0.73 of the size
    while ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength(word, font=face) > side * 0.9 and face.size > 10:
        face = ImageFont.truetype(str(font_path(font)), face.size - 2)
    left, top, right, bottom = face.getbbox(word)
    gap = cap // 2
    height = emblem.height + gap + (bottom - top)
    img = Image.new("RGB", (side, side), "white")
    y = (side - height) // 2
    word_y, emblem_y = (y + emblem.height + gap, y) if above else (y, y + (bottom - top) + gap)
    img.paste(emblem, ((side - emblem.width) // 2, emblem_y))
    ImageDraw.Draw(img).text(((side - (right - left)) // 2 - left, word_y - top), word, font=face, fill=(20, 20, 20))
    return img
