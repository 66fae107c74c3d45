"""Spatial verification on real local features of the packaged model, logos rendered with PIL."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from logo_similarity.embeddings.local import ink_grid, local_projection_for
from logo_similarity.reranking.spatial import (
    cell_similarities,
    mutual_nearest,
    patch_max_similarity,
    verified_matches,
)
from tests.conftest import draw_logo


def _on_white(image: Image.Image, angle: float = 0.0) -> Image.Image:
    return image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor="white")


def _occluded(image: Image.Image) -> Image.Image:
    out = image.copy()
    ImageDraw.Draw(out).rectangle((120, 20, 180, 80), fill="white")
    return out


def _cropped(image: Image.Image) -> Image.Image:
    return image.crop((0, 0, 170, 200))


@pytest.fixture(scope="module")
def features(default_embedder, settings):
    projection = local_projection_for(default_embedder, settings.rerank.local_dim, settings.model.cache_dir)

    def of(images):
        batch = np.stack([default_embedder.preprocess(i).array for i in images])
        _, maps = default_embedder.embed_local(batch)
        return projection(maps), ink_grid(batch, maps.shape[-1]), maps.shape[-1]

    return of


def _logo():
    return draw_logo("key", (30, 90, 200))


COPIES = {
    "identical": lambda im: im,
    "mirrored": lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    "rotated": lambda im: _on_white(im, 25),
    "cropped": _cropped,
    "occluded": _occluded,
    "recoloured": lambda im: Image.eval(im, lambda v: 255 - v if v < 250 else v),
}


@pytest.mark.parametrize("method", ["verified", "patch_max"])
def test_copies_beat_an_unrelated_logo_and_identical_is_highest(features, method):
    query = _logo()
    candidates = [fn(query) for fn in COPIES.values()] + [draw_logo(k, (30, 90, 200)) for k in ("bars", "wave", "chevrons")]
    (q_cells, *_), (q_ink, *_), grid = features([query])
    cells, ink, grid = features(candidates)
    if method == "verified":
        scores = np.array([m.score for m in verified_matches(q_cells, q_ink, cells, ink, grid)])
    else:
        scores = patch_max_similarity(q_cells, q_ink, cells, ink)
    copies, unrelated = scores[: len(COPIES)], scores[len(COPIES):]
    assert scores[0] == pytest.approx(scores.max())  # identical is the best match
    assert copies.min() > unrelated.max(), dict(zip(list(COPIES) + ["bars", "wave", "chevrons"], scores.round(3)))


def test_correspondences_lie_on_the_logo(features):
    query = _logo()
    mirrored = query.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    (q_cells, c_cells), (q_ink, c_ink), grid = features([query, mirrored])
    (match,) = verified_matches(q_cells, q_ink, c_cells[None], c_ink[None], grid)
    assert len(match.pairs) >= 5
    for q, c in match.pairs:
        assert q_ink[q] > 0.05 and c_ink[c] > 0.05  # both ends on ink, never on the white background
    # the mirror maps x to 1 - x: matched cells sit at mirrored columns (within a cell or two)
    cols = np.array([(q % grid, c % grid) for q, c in match.pairs])
    assert np.median(np.abs(cols[:, 0] + cols[:, 1] - (grid - 1))) <= 2


def test_pure_functions_on_hand_made_cells():
    grid = 8
    eye = np.eye(64, dtype=np.float32)  # each cell its own direction
    ink = np.ones(64, dtype=np.float32)
    sims = cell_similarities(eye, eye[None])
    (q_cells, c_cells, value), = mutual_nearest(sims, ink > 0, ink[None] > 0, 0.5)
    assert (q_cells == c_cells).all() and (value == 1).all()
    (match,) = verified_matches(eye, ink, eye[None], ink[None], grid)
    assert match.score == pytest.approx(1.0) and len(match.pairs) == 64
    shuffled = eye[np.random.default_rng(0).permutation(64)]
    (moved,) = verified_matches(eye, ink, shuffled[None], ink[None], grid)
    assert moved.score < 0.2  # the same parts in another arrangement do not verify
    assert patch_max_similarity(eye, ink, shuffled[None], ink[None])[0] == pytest.approx(1.0)  # blind to order
    blank = np.zeros(64, dtype=np.float32)
    assert np.isnan(patch_max_similarity(eye, ink, eye[None], blank[None])[0])  # nothing to compare: missing
