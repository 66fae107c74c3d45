"""Local features stored with an index version: built, cached, saved, memory-mapped, added to and removed."""

import numpy as np

from logo_similarity.datasets import read_dataset
from logo_similarity.embeddings.local import LocalProjection
from logo_similarity.indexing import BuildRequest, build_index, stage2_data
from logo_similarity.retrieval import SearchIndex
from logo_similarity.retrieval.store.local_features import LocalFeatures
from logo_similarity.indexing.update import add_items, delete_items


def _store(n=5, cells=4, dim=3, seed=0):
    rng = np.random.default_rng(seed)
    proj = LocalProjection(np.zeros(8, np.float32), np.eye(dim, 8, dtype=np.float32), 16)
    store = LocalFeatures(proj, grid=2)
    store.add(np.arange(n) * 10, rng.normal(size=(n, cells, dim)).astype(np.float16), rng.random((n, cells)))
    return store


def test_store_round_trip_add_remove(tmp_path):
    store = _store()
    store.remove([20, 999])
    store.add(np.array([70]), np.ones((1, 4, 3), np.float16), np.full((1, 4), 0.5))
    present, cells, ink = store.take([70, 20, 0])
    assert present.tolist() == [True, False, True] and cells.shape == (2, 4, 3)
    assert np.allclose(cells[0], 1.0) and np.allclose(ink[0], 128 / 255)
    store.save(tmp_path)
    loaded = LocalFeatures.load(tmp_path)
    assert len(loaded) == len(store) == 5 and 20 not in loaded
    for item in (0, 10, 30, 40, 70):
        np.testing.assert_array_equal(loaded.take([item])[1], store.take([item])[1])
    assert isinstance(loaded._parts[0][1], np.memmap)  # read from disk on demand, not loaded whole


def test_build_stores_local_features_and_updates_keep_them(tiny_gallery, default_embedder, settings, tmp_path):
    records = read_dataset(tiny_gallery / "metadata.jsonl")
    request = BuildRequest(records[:8], image=settings.image, stage2=stage2_data(default_embedder, settings),
                           cache=tmp_path / "c.sqlite")
    index, report = build_index(request, default_embedder)
    assert len(index.local) == 8 and index.local.bytes_per_item <= 16 * 1024
    again, second = build_index(request, default_embedder)
    assert second.cached == 8  # local features came from the embedding cache too
    np.testing.assert_array_equal(again.local.take([3])[1], index.local.take([3])[1])
    root = tmp_path / "index"
    index.save(root)
    manifest = SearchIndex.load(root).manifest()["local"]
    assert manifest["items"] == 8 and manifest["grid"] == 14 and manifest["dim"] == settings.rerank.local_dim
    added = add_items(root, records[8:10], default_embedder, settings.image).added
    delete_items(root, [0])
    final = SearchIndex.load(root, mmap=True)
    assert set(final.metadata) == set(final.local._where) == set(range(1, 8)) | set(added)
