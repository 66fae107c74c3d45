"""Training checkpoints: written atomically (temp file, fsync, rename), holding everything a resumed run needs
to continue exactly (both encoders, projector/predictor, queue and pointer, optimiser, scaler, step, RNG states).
"""

from __future__ import annotations

import hashlib
import io
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from logo_similarity.embeddings.model import FeatureExtractor
from logo_similarity.utils.fs import atomic_write


def rng_states() -> dict[str, Any]:
    states = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng(states: dict[str, Any]) -> None:
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def save_state(path: Path, state: dict[str, Any]) -> None:
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write(Path(path), buf.getvalue())


def load_state(path: Path) -> dict[str, Any]:
    # our own file (written by save_state): it holds RNG states, which weights_only loading refuses
    return torch.load(path, map_location="cpu", weights_only=False)


def trunk_hash(extractor: FeatureExtractor) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(extractor.trunk.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:12]


def save_extractor(extractor: FeatureExtractor, path: Path, recipe: dict[str, Any], metrics: dict[str, Any]) -> None:
    """A model checkpoint in the embedder's format (spec + trunk), plus the recipe and validation metrics."""
    state = {"spec": extractor.spec.to_dict(), "trunk": {k: v.detach().cpu() for k, v in extractor.trunk.state_dict().items()},
             "recipe": json.dumps(recipe, sort_keys=True), "metrics": json.dumps(metrics)}
    save_state(path, state)
