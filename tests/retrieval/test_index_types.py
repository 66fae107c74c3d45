"""Delete, look-up by id and search stay correct on every index type the chooser can return.

IVF-family indexes used to sit inside ``IndexIDMap2``, whose removal assumes the inner index renumbers like a
flat one: after a delete, ids and vectors fell out of step (the wrong mark came back for a vector).
"""

import faiss
import numpy as np
import pytest

from logo_similarity.embeddings.spec import ModelSpec
from logo_similarity.retrieval import SearchIndex
from logo_similarity.retrieval.ann import migrate_ivf_ids
from logo_similarity.retrieval.chooser import choose_index

DIM = 32
SPEC = ModelSpec("arch", "w", 224, (0.5,) * 3, (0.5,) * 3, "gem", 3.0, DIM)
N = 6000
FACTORIES = ["Flat", "HNSW32,Flat", "IVF64,Flat", "OPQ8_32,IVF64,PQ8x8"]


@pytest.fixture(scope="module")
def vectors():
    rng = np.random.default_rng(1)
    centers = rng.normal(size=(80, DIM))
    x = centers[rng.integers(0, 80, N)] + 0.3 * rng.normal(size=(N, DIM))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_the_chooser_returns_these_families():
    def family(factory):
        return factory.split(",")[0].rstrip("0123456789_")

    chosen = {family(c.factory) for n in (100, 50_000) for c in choose_index(n, DIM, 50_000 * 400)}
    assert chosen == {family(f) for f in FACTORIES} == {"Flat", "HNSW", "IVF", "OPQ"}


def build(factory, vectors):
    ids = np.arange(100, 100 + len(vectors), dtype=np.int64) * 3  # sparse ids, not positions
    metas = [{"key": f"k{i}", "file": f"f{i}"} for i in ids]
    return ids, SearchIndex.from_vectors(SPEC, ids, vectors, metas, factory, target_recall=0.9)


def top1_is_self(index, ids, vectors, rows) -> float:
    found = index.search(vectors[rows], 1).ids[:, 0]
    return float(np.mean(found == ids[rows]))


@pytest.mark.parametrize("factory", FACTORIES)
def test_delete_then_search_and_lookup_stay_in_step(factory, vectors, tmp_path):
    ids, index = build(factory, vectors)
    rows = np.arange(0, N, 7)
    before = top1_is_self(index, ids, vectors, rows)
    exact = factory.startswith(("Flat", "HNSW", "IVF"))
    assert before >= (0.95 if exact else 0.6)

    gone = ids[::3]
    assert index.remove(gone.tolist()) == len(gone)
    assert len(index) == N - len(gone) == len(index.metadata)
    kept = np.setdiff1d(np.arange(N), np.arange(N)[::3])
    kept_rows = kept[::5]
    # every kept item still finds itself (as often as before): ids and vectors did not fall out of step
    assert top1_is_self(index, ids, vectors, kept_rows) >= before - 0.05
    found = index.search(vectors[kept_rows], 20).ids
    assert not set(found.ravel().tolist()) & set(gone.tolist())  # a deleted mark never comes back

    # by-id look-up returns the item's own (stored) vector
    stored = index.vectors(ids[kept_rows[:50]])
    projected = index.projection(vectors[kept_rows[:50]]) if index.projection else vectors[kept_rows[:50]]
    cos = np.sum(stored * projected, axis=1) / np.linalg.norm(stored, axis=1)
    assert cos.min() > (0.999 if "PQ" not in factory else 0.8)

    # adding after a delete, then a save/load round trip, keeps all of it
    new_ids = np.array([ids.max() + 10, ids.max() + 11])
    index.add(new_ids, vectors[gone[:2] // 3 - 100], [{"key": "n1", "file": "a"}, {"key": "n2", "file": "b"}])
    index.save(tmp_path / "idx")
    for mmap in (False, True):
        loaded = SearchIndex.load(tmp_path / "idx", mmap=mmap)
        assert len(loaded) == len(index)
        np.testing.assert_array_equal(loaded.search(vectors[kept_rows], 5).ids, index.search(vectors[kept_rows], 5).ids)
        np.testing.assert_allclose(loaded.vectors(new_ids), index.vectors(new_ids), atol=1e-6)
    loaded = SearchIndex.load(tmp_path / "idx")
    assert loaded.remove([int(new_ids[0])]) == 1 and int(new_ids[0]) not in loaded.search(vectors[gone[:1] // 3 - 100], 5).ids


def test_an_old_ivf_index_inside_an_id_map_is_migrated_on_load(vectors, tmp_path):
    """Indexes written before the fix wrap IVF in IndexIDMap2: loading for writing gives the IVF its own ids."""
    ids = np.arange(N, dtype=np.int64) * 5 + 7
    ivf = faiss.index_factory(DIM, "IVF64,Flat", faiss.METRIC_INNER_PRODUCT)
    ivf.train(vectors)
    legacy = faiss.IndexIDMap2(ivf)
    legacy.add_with_ids(vectors, ids)
    migrated = migrate_ivf_ids(legacy)
    assert not isinstance(migrated, faiss.IndexIDMap2)
    params = faiss.SearchParametersIVF(nprobe=64)
    np.testing.assert_array_equal(migrated.search(vectors[:50], 3, params=params)[1],
                                  legacy.search(vectors[:50], 3, params=params)[1])
    migrated.remove_ids(ids[:100])
    assert migrated.ntotal == N - 100
    found = migrated.search(vectors[100:300], 1, params=params)[1][:, 0]
    np.testing.assert_array_equal(found, ids[100:300])


def test_hnsw_deletes_are_tombstones_until_a_tenth_then_the_graph_is_rebuilt(vectors, tmp_path):
    """HNSW cannot delete from its graph: a few deletes are filtered out of every search (no graph rebuild per
    delete, which takes minutes at a million items); past a tenth of the graph it is rebuilt without them."""
    ids, index = build("HNSW32,Flat", vectors)
    few = ids[:100]
    assert index.remove(few.tolist()) == 100
    assert index.index.ntotal == N and len(index) == N - 100 == len(index.metadata)  # still in the graph
    found = index.search(vectors[:300], 10).ids
    assert not set(found.ravel().tolist()) & set(few.tolist())
    assert (found[100:300, 0] == ids[100:300]).mean() > 0.95

    index.save(tmp_path / "idx")  # the tombstones survive a save and both kinds of load
    for mmap in (False, True):
        loaded = SearchIndex.load(tmp_path / "idx", mmap=mmap)
        assert len(loaded) == N - 100 and len(loaded.tombstones) == 100
        np.testing.assert_array_equal(loaded.search(vectors[:300], 10).ids, found)

    more = ids[100:700]  # now over a tenth: rebuilt without them
    loaded = SearchIndex.load(tmp_path / "idx")
    assert loaded.remove(more.tolist()) == 600
    assert loaded.index.ntotal == len(loaded) == N - 700 and len(loaded.tombstones) == 0
    found = loaded.search(vectors[:800], 5).ids
    assert not set(found.ravel().tolist()) & set(ids[:700].tolist())
    assert (found[700:800, 0] == ids[700:800]).mean() > 0.95
