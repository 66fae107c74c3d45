"""A rebuild of a changed dataset re-embeds only new or changed images and equals a fresh build."""

import shutil

import numpy as np

from logo_similarity.config import ImageSettings
from logo_similarity.datasets import read_dataset
from logo_similarity.embeddings import ThumbnailEmbedder
from logo_similarity.config import IndexSettings
from logo_similarity.indexing import BuildRequest, build_index
from tests.conftest import draw_logo


def test_rebuild_reuses_unchanged_embeddings(tiny_gallery, tmp_path):
    images = tmp_path / "images"
    shutil.copytree(tiny_gallery / "images", images)
    embedder, settings = ThumbnailEmbedder(), ImageSettings()
    work, cache = tmp_path / "work", tmp_path / "cache.sqlite"

    chunks = IndexSettings(chunk_size=5)
    first, report = build_index(BuildRequest(read_dataset(images), chunks, settings, work=work, cache=cache), embedder)
    assert report.cached == 0 and report.items == 12

    draw_logo("star", (0, 160, 160)).save(images / "aaa-new.png")  # added (sorts first: every position moves)
    draw_logo("ring", (10, 10, 10)).save(images / "ring.png")  # changed content, same name
    records = read_dataset(images)
    again, report = build_index(BuildRequest(records, chunks, settings, work=work, cache=cache), embedder)
    assert report.items == 13 and report.cached == 11  # only the new and the changed image were embedded

    fresh, _ = build_index(BuildRequest(records, image=settings), embedder)  # no cache, temporary work folder
    ids = np.array(sorted(fresh.metadata))
    assert sorted(again.metadata) == ids.tolist()
    np.testing.assert_array_equal(again.vectors(ids), fresh.vectors(ids))
    assert [again.metadata[i]["key"] for i in ids] == [fresh.metadata[i]["key"] for i in ids]
    assert all(len(again.metadata[i]["source_sha256"]) == 64 for i in ids)
