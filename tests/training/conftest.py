"""Tiny training data and a tiny LogoBench-format validation split, rendered by the tests themselves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from logo_similarity.config import load_settings
from logo_similarity.datasets.transforms import modified_copy
from tests.conftest import COLOURS, KINDS, draw_logo


def write_train_set(root: Path) -> Path:
    """72 logos (12 shapes x 6 colours) as an L3D dataset; brand = shape, set = colour."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    with open(root / "metadata.jsonl", "w") as fh:
        for kind in KINDS:
            for c, colour in enumerate(COLOURS):
                name = f"images/{kind}-{c}.png"
                draw_logo(kind, colour, side=96).save(root / name)
                fh.write(json.dumps({"file": name, "text": None, "brand": kind, "set": f"s{c}"}) + "\n")
    return root / "metadata.jsonl"


def write_bench(root: Path) -> Path:
    """12 gallery logos and 12 modified-copy queries in LogoBench's format."""
    (root / "gallery").mkdir(parents=True, exist_ok=True)
    (root / "queries").mkdir(exist_ok=True)
    with open(root / "gallery.jsonl", "w") as g, open(root / "queries.jsonl", "w") as q:
        for i, kind in enumerate(KINDS):
            image = draw_logo(kind, COLOURS[i % len(COLOURS)], side=96)
            image.save(root / "gallery" / f"{kind}.png")
            g.write(json.dumps({"id": f"t:{kind}", "file": f"gallery/{kind}.png", "set": "t", "brand": kind, "text": None}) + "\n")
            copy, steps = modified_copy(image, seed=i)
            copy.save(root / "queries" / f"q{i}.png")
            q.write(json.dumps({"qid": f"q{i}", "file": f"queries/q{i}.png", "task": "modified_copy",
                                "relevant": [f"t:{kind}"], "source": None, "transform": "+".join(steps),
                                "ignore": []}) + "\n")
    return root


@pytest.fixture(scope="session")
def train_data(tmp_path_factory) -> Path:
    return write_train_set(tmp_path_factory.mktemp("train"))


@pytest.fixture(scope="session")
def tiny_bench(tmp_path_factory) -> Path:
    return write_bench(tmp_path_factory.mktemp("bench"))


def tiny_settings(cache: Path, bench: Path | None, **train) -> object:
    """A small, fast recipe: 64 px input, batch 8, a short queue."""
    section = {"batch_size": 8, "queue_size": 32, "steps": 6, "warmup_steps": 2, "views": 3, "frozen_stages": 5,
               "val_bench": str(bench) if bench else None, "val_every": 3, "checkpoint_every": 1, "lr": 1e-3,
               "proj_hidden": 64, "proj_dim": 32, "val_queries_per_task": None,
               "cache_dir": str(cache / "train-cache"), **train}
    return load_settings(overrides={"model": {"cache_dir": str(cache), "input_size": 64, "threads": 1},
                                    "train": section}, environ={})
