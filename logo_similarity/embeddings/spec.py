"""What a model is, saved next to its weights, its ONNX file and every index built with it.

Two embeddings are comparable only if everything here is equal; ``ModelSpec.mismatch`` names what differs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields
from typing import Any

from logo_similarity.config import ImageSettings, ModelSettings

# Bump when normalisation (padding, resizing, colour handling) changes in a way that changes embeddings.
PREPROCESS_VERSION = 1


# key of the ModelSpec JSON in an exported ONNX file's metadata
SPEC_METADATA_KEY = "logo_similarity.spec"

@dataclass(frozen=True)
class ModelSpec:
    arch: str
    weights: str
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    pooling: str
    gem_p: float
    dim: int
    background: tuple[int, int, int] = (255, 255, 255)
    color_mode: str = "rgb"
    text_mask: str = "off"
    preprocess_version: int = PREPROCESS_VERSION
    recipe: str = ""  # how the weights were trained (compact JSON), empty for the ImageNet weights

    @classmethod
    def from_settings(cls, model: ModelSettings, image: ImageSettings, weights: str, dim: int) -> ModelSpec:
        return cls(
            arch=model.arch,
            weights=weights,
            input_size=model.input_size,
            mean=tuple(model.mean),
            std=tuple(model.std),
            pooling=model.pooling,
            gem_p=model.gem_p if model.pooling == "gem" else 0.0,
            dim=dim,
            background=tuple(image.background),
            color_mode=model.color_mode,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown model spec fields: {sorted(unknown)}")
        values = dict(data)
        for key in ("mean", "std", "background"):
            if key in values:
                values[key] = tuple(values[key])
        return cls(**values)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def fingerprint(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    def mismatch(self, other: ModelSpec) -> list[str]:
        """Human-readable differences, empty when the two specs produce comparable embeddings."""
        mine, theirs = self.to_dict(), other.to_dict()
        return [f"{k}: {_short(mine[k])} != {_short(theirs[k])}" for k in mine if mine[k] != theirs[k]]


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "...'"
