"""Normalisation shared by training, indexing and querying: the same function at all three places."""

from __future__ import annotations

from typing import Protocol

import numpy as np
from PIL import Image


class InputSpec(Protocol):
    """What preprocessing reads of a model: its input data config (as timm keeps one beside each model).

    ``embeddings.spec.ModelSpec`` provides it and records it in every model and index, so preprocessing needs
    nothing from the embeddings package.
    """

    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    color_mode: str
    background: tuple[int, int, int]
    text_mask: str


def pad_to_square(image: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """Centre ``image`` on a square canvas of its longer side (aspect kept, nothing cropped)."""
    width, height = image.size
    side = max(width, height)
    if width == height:
        return image
    canvas = Image.new("RGB", (side, side), background)
    canvas.paste(image, ((side - width) // 2, (side - height) // 2))
    return canvas


def normalize_logo(image: Image.Image, spec: InputSpec) -> Image.Image:
    """Pad to square on the background colour, resize to the model's input size (gray mode: drop colour)."""
    if spec.color_mode == "gray":
        image = image.convert("L").convert("RGB")
    square = pad_to_square(image, spec.background)
    if square.size != (spec.input_size, spec.input_size):
        square = square.resize((spec.input_size, spec.input_size), Image.Resampling.BICUBIC, reducing_gap=3.0)
    return square


def to_model_input(image: Image.Image, spec: InputSpec) -> np.ndarray:
    """Normalised logo as a float32 CHW array scaled with the model's mean/std."""
    arr = np.asarray(normalize_logo(image, spec), dtype=np.float32) / 255.0
    arr = (arr - np.asarray(spec.mean, dtype=np.float32)) / np.asarray(spec.std, dtype=np.float32)
    return np.ascontiguousarray(arr.transpose(2, 0, 1))
