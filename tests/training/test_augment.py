import random

import numpy as np
import pytest

from logo_similarity.training.augment import TRANSFORMS, augment
from tests.conftest import draw_logo


@pytest.fixture(scope="module")
def logo():
    return draw_logo("key", (30, 90, 200), side=128)


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_each_transform_is_deterministic_under_a_seed_and_leaves_its_input_alone(name, logo):
    before = np.asarray(logo).copy()
    a = TRANSFORMS[name](logo, random.Random(7))
    b = TRANSFORMS[name](logo, random.Random(7))
    assert a.mode == "RGB"
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert np.array_equal(np.asarray(logo), before)


@pytest.mark.parametrize("name", sorted(set(TRANSFORMS) - {"mirror"}))
def test_each_transform_changes_the_logo_for_some_seed(name, logo):
    changed = [not np.array_equal(np.asarray(TRANSFORMS[name](logo, random.Random(s)).resize(logo.size)),
                                  np.asarray(logo)) for s in range(5)]
    assert any(changed)


def test_mirror_is_a_horizontal_flip(logo):
    out = np.asarray(TRANSFORMS["mirror"](logo, random.Random(0)))
    assert np.array_equal(out, np.asarray(logo)[:, ::-1])


def test_augment_composes_one_to_three_steps_reproducibly(logo):
    counts = set()
    for seed in range(30):
        image, steps = augment(logo, random.Random(seed))
        again, same = augment(logo, random.Random(seed))
        assert steps == same and np.array_equal(np.asarray(image), np.asarray(again))
        assert len(set(steps)) == len(steps)
        counts.add(len(steps))
    assert counts == {1, 2, 3}
