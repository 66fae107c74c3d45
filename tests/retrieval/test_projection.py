import numpy as np
import pytest

from logo_similarity.embeddings.spec import ModelSpec
from logo_similarity.retrieval import SearchIndex
from logo_similarity.retrieval.projection import fit_projection

SPEC = ModelSpec("arch", "w", 224, (0.5,) * 3, (0.5,) * 3, "gem", 3.0, 64)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    low = rng.normal(size=(3000, 12)) @ rng.normal(size=(12, 64))  # 12 real dims inside 64
    x = low + 0.01 * rng.normal(size=(3000, 64))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_incremental_fit_whitens(data):
    proj = fit_projection(np.array_split(data, 10), dim=12)
    y = ((data - proj.mean) @ proj.components.T) * proj.scale
    np.testing.assert_allclose(y.std(axis=0), 1.0, rtol=0.05)  # whitened: unit variance per component
    np.testing.assert_allclose(np.linalg.norm(proj(data[:5]), axis=1), 1.0, atol=1e-5)


def test_small_batches_are_pooled(data):
    assert fit_projection(np.array_split(data[:200], 40), dim=12).dim == 12
    with pytest.raises(ValueError, match="at least"):
        fit_projection([data[:5]], dim=12)


def test_index_projects_queries_and_additions_and_saves_it(data, tmp_path):
    proj = fit_projection([data], dim=12)
    ids = np.arange(2000)
    index = SearchIndex.from_vectors(SPEC, ids, data[:2000], [{"key": str(i), "file": ""} for i in ids], projection=proj)
    assert index.dim == 12 and index.vectors(np.array([0])).shape == (1, 12)
    index.add(np.array([5000]), data[2500:2501], [{"key": "new", "file": ""}])  # raw 64-d in
    assert index.search(data[2500:2501], 1).ids[0, 0] == 5000  # raw 64-d query finds it
    index.save(tmp_path / "idx")
    loaded = SearchIndex.load(tmp_path / "idx")
    assert loaded.projection is not None and loaded.dim == 12
    np.testing.assert_array_equal(loaded.search(data[:20], 5).ids, index.search(data[:20], 5).ids)
