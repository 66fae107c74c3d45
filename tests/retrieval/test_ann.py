import faiss
import numpy as np
import pytest

from logo_similarity.embeddings.spec import ModelSpec
from logo_similarity.retrieval import SearchIndex
from logo_similarity.retrieval.ann import recall_at

DIM = 32
SPEC = ModelSpec("arch", "w", 224, (0.5,) * 3, (0.5,) * 3, "gem", 3.0, DIM)


@pytest.fixture(scope="module")
def clustered():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(100, DIM))
    x = centers[rng.integers(0, 100, 8000)] + 0.4 * rng.normal(size=(8000, DIM))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("factory, knob", [("HNSW32,Flat", "efSearch"), ("IVF64,Flat", "nprobe")])
def test_tuned_index_reaches_target_and_survives_save_load(clustered, factory, knob, tmp_path):
    ids = np.arange(1000, 1000 + len(clustered))
    metas = [{"key": f"k{i}", "file": f"f{i}"} for i in ids]
    built = SearchIndex.from_vectors(SPEC, ids, clustered, metas, factory, target_recall=0.95)
    assert set(built.search_params) == {knob} and built.tuned_recall >= 0.95
    exact = faiss.IndexFlatIP(DIM)
    exact.add(clustered)
    queries = clustered[::97] + 0.01
    _, truth = exact.search(queries, 100)
    found = built.search(queries, 100).ids - 1000
    assert recall_at(found, truth) >= 0.9  # new queries, not the tuning ones
    built.save(tmp_path / "idx")
    loaded = SearchIndex.load(tmp_path / "idx")
    assert loaded.factory == factory and loaded.search_params == built.search_params
    np.testing.assert_array_equal(loaded.search(queries, 10).ids, built.search(queries, 10).ids)


def test_recall_at_ignores_missing():
    assert recall_at(np.array([[1, 2, -1]]), np.array([[2, 3, 4]])) == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    "factory, gpus, expected",
    [("IVF1024,Flat", 1, True), ("OPQ64_256,IVF4096,PQ64x8", 2, True), ("HNSW32,Flat", 1, False),
     ("IVF1024,Flat", 0, False), ("Flat", 1, False)],
)
def test_gpu_training_choice(factory, gpus, expected):
    from logo_similarity.retrieval.ann import train_on_gpu

    assert train_on_gpu(factory, gpus) is expected


@pytest.mark.gpu
def test_ivf_trains_on_gpu_when_present(clustered):
    from logo_similarity.retrieval.ann import gpu_count

    if gpu_count() == 0:
        pytest.skip("faiss sees no GPU")
    ids = np.arange(len(clustered))
    built = SearchIndex.from_vectors(SPEC, ids, clustered, [{"key": str(i), "file": ""} for i in ids], "IVF64,Flat")
    assert built.tuned_recall >= 0.9


def test_hnsw_graphs_are_built_with_a_wide_search():
    import faiss

    from logo_similarity.retrieval.ann import HNSW_EF_CONSTRUCTION, new_index

    assert faiss.downcast_index(new_index(8, "HNSW32,Flat").index).hnsw.efConstruction == HNSW_EF_CONSTRUCTION == 200
