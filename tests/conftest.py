"""Shared fixtures: tiny logo galleries rendered with PIL, settings with a per-session model cache."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from logo_similarity.config import Settings, load_settings

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "demo"


def _star(cx: float, cy: float, r_out: float, r_in: float, points: int) -> list[tuple[float, float]]:
    pts = []
    for i in range(points * 2):
        r = r_out if i % 2 == 0 else r_in
        a = math.pi * i / points - math.pi / 2
        pts.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    return pts


def draw_logo(kind: str, colour: tuple[int, int, int], side: int = 200) -> Image.Image:
    """A distinct, deterministic synthetic logo for each ``kind``."""
    img = Image.new("RGB", (side, side), "white")
    d = ImageDraw.Draw(img)
    s = side
    if kind == "ring":
        d.ellipse((s * 0.15, s * 0.15, s * 0.85, s * 0.85), outline=colour, width=int(s * 0.1))
    elif kind == "star":
        d.polygon(_star(s / 2, s / 2, s * 0.42, s * 0.17, 5), fill=colour)
    elif kind == "triangle":
        d.polygon([(s * 0.5, s * 0.1), (s * 0.9, s * 0.85), (s * 0.1, s * 0.85)], fill=colour)
    elif kind == "bars":
        for i in range(4):
            d.rectangle((s * (0.12 + 0.2 * i), s * (0.7 - 0.15 * i), s * (0.27 + 0.2 * i), s * 0.88), fill=colour)
    elif kind == "cross":
        d.rectangle((s * 0.4, s * 0.1, s * 0.6, s * 0.9), fill=colour)
        d.rectangle((s * 0.1, s * 0.4, s * 0.9, s * 0.6), fill=colour)
    elif kind == "chevrons":
        for i in range(3):
            off = s * 0.22 * i
            d.line([(s * 0.15 + off, s * 0.2), (s * 0.35 + off, s * 0.5), (s * 0.15 + off, s * 0.8)], fill=colour, width=int(s * 0.07))
    elif kind == "target":
        for i, r in enumerate((0.42, 0.3, 0.18, 0.07)):
            d.ellipse((s * (0.5 - r), s * (0.5 - r), s * (0.5 + r), s * (0.5 + r)), fill=colour if i % 2 == 0 else "white")
    elif kind == "hexagon":
        d.polygon([(s / 2 + s * 0.4 * math.cos(math.pi / 3 * i), s / 2 + s * 0.4 * math.sin(math.pi / 3 * i)) for i in range(6)], fill=colour)
        d.ellipse((s * 0.38, s * 0.38, s * 0.62, s * 0.62), fill="white")
    elif kind == "wave":
        pts = [(s * (0.1 + 0.8 * t / 40), s * (0.5 + 0.25 * math.sin(t / 40 * 4 * math.pi))) for t in range(41)]
        d.line(pts, fill=colour, width=int(s * 0.08))
    elif kind == "key":
        d.ellipse((s * 0.1, s * 0.3, s * 0.45, s * 0.65), outline=colour, width=int(s * 0.08))
        d.rectangle((s * 0.42, s * 0.44, s * 0.9, s * 0.52), fill=colour)
        d.rectangle((s * 0.75, s * 0.52, s * 0.82, s * 0.66), fill=colour)
    elif kind == "grid":
        for i in range(3):
            for j in range(3):
                if (i + j) % 2 == 0:
                    d.rectangle((s * (0.1 + 0.27 * i), s * (0.1 + 0.27 * j), s * (0.34 + 0.27 * i), s * (0.34 + 0.27 * j)), fill=colour)
    elif kind == "crescent":
        d.ellipse((s * 0.1, s * 0.1, s * 0.9, s * 0.9), fill=colour)
        d.ellipse((s * 0.3, s * 0.05, s * 1.0, s * 0.75), fill="white")
    else:
        raise ValueError(kind)
    return img


KINDS = ["ring", "star", "triangle", "bars", "cross", "chevrons", "target", "hexagon", "wave", "key", "grid", "crescent"]
COLOURS = [(220, 30, 30), (30, 90, 200), (20, 140, 60), (240, 150, 0), (110, 40, 160), (0, 0, 0)]


def draw_gallery(folder: Path, n: int = len(KINDS), side: int = 200, grow: int = 0) -> list[Path]:
    """``n`` rendered logos saved as ``folder/<kind or number>.png`` (shapes cycle, colours per round)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        path = folder / (f"{kind}.png" if n <= len(KINDS) else f"{i:03d}.png")
        draw_logo(kind, COLOURS[(i + i // len(KINDS)) % len(COLOURS)], side=side + grow * i).save(path)
        paths.append(path)
    return paths


@pytest.fixture(scope="session")
def tiny_gallery(tmp_path_factory) -> Path:
    """12 synthetic logos as an L3D dataset: images/ + metadata.jsonl with names and Vienna codes."""
    root = tmp_path_factory.mktemp("gallery")
    (root / "images").mkdir()
    with open(root / "metadata.jsonl", "w") as fh:
        for i, kind in enumerate(KINDS):
            draw_logo(kind, COLOURS[i % len(COLOURS)]).save(root / "images" / f"{kind}.png")
            code = ["01.01.01", "26.01.03", "26.03.01", "26.04.05"][i % 4]
            fh.write(json.dumps({"file": f"images/{kind}.png", "text": kind.upper(), "vienna_codes": [code], "year": 2000 + i}) + "\n")
    return root


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="session")
def settings(model_cache: Path) -> Settings:
    return load_settings(overrides={"model": {"cache_dir": str(model_cache)}}, environ={})


@pytest.fixture(scope="session")
def onnx_embedder(settings):
    """The ImageNet model on onnxruntime (compared with its torch twin in the embedding tests)."""
    from logo_similarity.embeddings import load_embedder

    return load_embedder("imagenet", settings)


@pytest.fixture(scope="session")
def default_embedder(settings):
    """The packaged default model: what the service and the CLI load when no model is named."""
    from logo_similarity.embeddings import load_embedder

    return load_embedder(None, settings)


@pytest.fixture(scope="session")
def torch_extractor(settings):
    from logo_similarity.embeddings.model import build_pretrained_extractor

    return build_pretrained_extractor(settings.model, settings.image)
