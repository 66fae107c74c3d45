import json

import numpy as np
import pytest

from logo_similarity.datasets.iconify import (
    brand_key,
    ink_vectors,
    load_icon_config,
    near_copy_mask,
    render_icon,
)

ICONS = {
    "width": 24, "height": 24,
    "icons": {
        "dot": {"body": '<circle cx="6" cy="6" r="3" fill="currentColor"/>'},
        "bar": {"body": '<rect x="2" y="10" width="20" height="4" fill="#c00"/>'},
        "ghost": {"body": '<rect x="2" y="2" width="20" height="20" fill="#fff"/>'},
    },
}


def test_render_crops_to_the_ink_and_fills_85_percent():
    image = render_icon(ICONS, "dot", side=128)
    ink = np.asarray(image).min(axis=2) < 250
    rows, cols = np.where(ink.any(axis=1))[0], np.where(ink.any(axis=0))[0]
    assert image.size == (128, 128)
    assert 0.8 <= (rows[-1] - rows[0] + 1) / 128 <= 0.9  # a small corner dot is centred and enlarged
    assert abs((rows[0] + rows[-1]) / 2 - 63.5) <= 2 and abs((cols[0] + cols[-1]) / 2 - 63.5) <= 2
    assert np.asarray(image)[64, 64].tolist() == [0, 0, 0]  # currentColor -> black
    wide = render_icon(ICONS, "bar", side=128)
    cols = np.where((np.asarray(wide).min(axis=2) < 250).any(axis=0))[0]
    assert 0.8 <= (cols[-1] - cols[0] + 1) / 128 <= 0.9  # aspect kept: the long side fills the box


def test_white_only_icons_are_dropped():
    assert render_icon(ICONS, "ghost") is None


def test_near_copies_are_found_by_ink_cosine():
    dot = np.asarray(render_icon(ICONS, "dot", side=64))
    bar = np.asarray(render_icon(ICONS, "bar", side=64))
    train, bench = ink_vectors([dot, bar]), ink_vectors([dot])
    assert near_copy_mask(train, bench).tolist() == [True, False]


@pytest.mark.parametrize("name, key", [("file-type-python", "python"), ("github-alt", "github"),
                                       ("amazon-prime-video", "amazonprimevideo"), ("tether-2", "tether")])
def test_brand_key(name, key):
    assert brand_key(name) == key


def test_reserved_sets_are_refused(tmp_path):
    config = tmp_path / "icons.yaml"
    config.write_text(json.dumps({"packages": [{"name": "@iconify-json/fa6-brands", "version": "1.2.6"}]}))
    with pytest.raises(ValueError, match="reserved"):
        load_icon_config(config)
