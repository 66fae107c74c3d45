"""Incremental add / delete keep ids, vectors and metadata consistent, and never reuse an id."""

import numpy as np
import pytest

from logo_similarity.datasets import LogoRecord
from logo_similarity.config import ImageSettings
from logo_similarity.embeddings import ThumbnailEmbedder
from logo_similarity.preprocessing import load_image
from logo_similarity.indexing import BuildRequest, build_index
from logo_similarity.retrieval import SearchIndex
from logo_similarity.search import embed_query
from logo_similarity.indexing.update import add_items, delete_items
from tests.conftest import KINDS, draw_gallery


@pytest.fixture
def logos(tmp_path):
    return draw_gallery(tmp_path)


def records(paths):
    return [LogoRecord(key=p.name, path=p, text=p.stem.upper()) for p in paths]


def test_add_then_delete_stays_consistent(logos, tmp_path):
    embedder, image = ThumbnailEmbedder(), ImageSettings()
    root = tmp_path / "idx"
    built, _ = build_index(BuildRequest(records(logos[:8]), image=image), embedder)
    built.save(root)
    report = add_items(root, records(logos[8:]), embedder, image)
    assert report.added == [8, 9, 10, 11]
    index = SearchIndex.load(root)
    assert sorted(index.metadata) == list(range(12)) and len(index) == 12
    star = logos[KINDS.index("star")]
    hit = index.search(embed_query(embedder, load_image(star)), 1)
    assert index.metadata[int(hit.ids[0, 0])]["key"] == star.name

    assert delete_items(root, [11, 3, 999]).removed == 2
    index = SearchIndex.load(root)
    assert sorted(index.metadata) == [0, 1, 2, 4, 5, 6, 7, 8, 9, 10] and len(index) == 10
    np.testing.assert_allclose(np.linalg.norm(index.vectors(np.array([0, 10])), axis=1), 1.0, atol=1e-5)

    again = add_items(root, records(logos[:1]), embedder, image)
    assert again.added == [12]  # 11 was deleted but is not reused


def test_failed_update_leaves_the_live_version(logos, tmp_path, monkeypatch):
    embedder, image = ThumbnailEmbedder(), ImageSettings()
    root = tmp_path / "idx"
    build_index(BuildRequest(records(logos[:4]), image=image), embedder)[0].save(root)

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("logo_similarity.retrieval.index.switch_current", crash)
    with pytest.raises(OSError, match="disk full"):
        add_items(root, records(logos[4:6]), embedder, image)
    assert len(SearchIndex.load(root)) == 4


def test_delete_from_hnsw_rebuilds_the_graph(tmp_path):
    from logo_similarity.embeddings.spec import ModelSpec

    spec = ModelSpec("s", "w", 0, (0.0,) * 3, (1.0,) * 3, "none", 0.0, 16)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 16)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    index = SearchIndex.from_vectors(spec, np.arange(300), x, [{"key": str(i), "file": ""} for i in range(300)],
                                     "HNSW32,Flat")
    assert index.remove([5, 6]) == 2 and len(index) == 298
    assert 5 not in set(index.search(x[5:6], 10).ids[0].tolist())
