"""Sharded IVF builds: the same index as a one-shot build, lists merged on disk, resumable shard by shard."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
import pytest

from logo_similarity.embeddings.spec import ModelSpec
from logo_similarity.config import IndexSettings
from logo_similarity.indexing import BuildRequest, build_index
from logo_similarity.retrieval import SearchIndex
from logo_similarity.retrieval.ann import recall_at
from logo_similarity.indexing.sharded import ShardedBuild, build_sharded_index
from tests.conftest import draw_gallery

DIM = 32
SPEC = ModelSpec("synthetic", "none", 0, (0.0,) * 3, (1.0,) * 3, "none", 0.0, DIM)
N, SHARDS = 6000, 3


def clustered_data():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(40, DIM)).astype(np.float32)
    x = centers[rng.integers(0, 40, N)] + 0.4 * rng.normal(size=(N, DIM)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = np.arange(N, dtype=np.int64) * 3 + 5  # ids are not positions
    q = x[rng.choice(N, 50, replace=False)] + 0.05 * rng.normal(size=(50, DIM)).astype(np.float32)
    return ids, x, q / np.linalg.norm(q, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def data():
    return clustered_data()


def loaders(ids, x, calls=None, fail_at=None):
    """Shard loaders; ``fail_at`` fails when that shard is read to be added (its second read)."""
    size = N // SHARDS
    reads: list[int] = []

    def make(n):
        def load():
            reads.append(n)
            if calls is not None:
                calls.append(n)
            if n == fail_at and reads.count(n) == 2:
                raise RuntimeError("killed")
            return ids[n * size : (n + 1) * size], x[n * size : (n + 1) * size]
        return load

    return [make(n) for n in range(SHARDS)]


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("factory", ["IVF32,Flat", "IVF32,PQ8x8"])
def test_sharded_build_equals_one_shot(data, tmp_path, factory):
    ids, x, q = data
    metas = {int(i): {"key": str(i), "file": f"{i}.png"} for i in ids}
    one_shot = SearchIndex.from_vectors(SPEC, ids, x, list(metas.values()), factory)
    sharded = build_sharded_index(SPEC, factory, tmp_path / "work", loaders(ids, x), metas)
    assert sharded.ondisk_lists and sorted(sharded.metadata) == ids.tolist() and len(sharded) == N
    assert sharded.search_params == one_shot.search_params
    expected = one_shot.search(q, 100).ids
    if factory == "IVF32,Flat":  # same training rows, same lists in the same order: the same answers
        np.testing.assert_array_equal(sharded.search(q, 100).ids, expected)
    else:  # the refinement codes' ranges come from the training sample, not all vectors: equal recall
        exact = x @ q.T
        truth = ids[np.argsort(-exact, axis=0)[:100].T]
        assert abs(recall_at(sharded.search(q, 100).ids, truth) - recall_at(expected, truth)) < 0.02

    sharded.save(tmp_path / "root")  # a version of its own: index.faiss + lists.ivfdata, searched memory-mapped
    version = SearchIndex.load(tmp_path / "root", mmap=True)
    assert version.ondisk_lists and (version.folder / "lists.ivfdata").is_file()
    np.testing.assert_array_equal(version.search(q, 100).ids, sharded.search(q, 100).ids)
    before = digest(version.folder / "lists.ivfdata")
    writable = SearchIndex.load(tmp_path / "root", mmap=False)  # changes go to a copy, never into that file
    writable.remove([int(ids[0]), int(ids[1])])
    writable.add(np.array([10**6]), x[:1], [{"key": "new", "file": "new.png"}])
    writable.save(tmp_path / "root")
    assert digest(version.folder / "lists.ivfdata") == before
    changed = SearchIndex.load(tmp_path / "root", mmap=True)
    assert changed.ondisk_lists and len(changed) == N - 1
    top = changed.search(x[:1], 3).ids[0].tolist()
    assert top[0] == 10**6 and int(ids[0]) not in top


def test_sharded_build_resumes_by_shard(data, tmp_path):
    ids, x, _ = data
    metas = {int(i): {"key": str(i)} for i in ids}
    with pytest.raises(RuntimeError, match="killed"):
        build_sharded_index(SPEC, "IVF32,Flat", tmp_path, loaders(ids, x, fail_at=2), metas)
    assert ShardedBuild(tmp_path, "IVF32,Flat", DIM, SHARDS).pending() == [2]
    calls: list[int] = []
    first_pass = len(loaders(ids, x))  # pass 1 (sample) reads every shard; only shard 2 is added again
    resumed = build_sharded_index(SPEC, "IVF32,Flat", tmp_path, loaders(ids, x, calls), metas)
    assert calls.count(2) == 3 and calls.count(0) == 2 and len(calls) == 2 * first_pass + 1
    assert len(resumed) == N


def test_build_index_shards_from_its_chunks(tmp_path, settings):
    from logo_similarity.datasets import read_dataset
    from logo_similarity.embeddings import load_embedder

    draw_gallery(tmp_path / "g", n=40, side=64, grow=1)
    records = read_dataset(tmp_path / "g")
    embedder = load_embedder("thumbnail", settings)
    chunks = IndexSettings(chunk_size=4, workers=1)
    request = BuildRequest(records, chunks, settings.image, batch_size=8, factory="IVF4,Flat")
    whole, _ = build_index(request, embedder)
    work = tmp_path / "work"
    sharded, _ = build_index(replace(request, index=chunks.model_copy(update={"shard_size": 12}), work=work), embedder)
    assert sharded.ondisk_lists and not whole.ondisk_lists
    assert sorted(sharded.metadata) == sorted(whole.metadata)
    q = whole.vectors(np.array(sorted(whole.metadata)[:5]))
    np.testing.assert_array_equal(sharded.search(q, 10, projected=True).ids, whole.search(q, 10, projected=True).ids)
    assert sorted(p.name for p in (work / "shards").iterdir() if p.suffix == ".done") == [
        f"shard-{n:06d}.done" for n in range(4)]  # 10 chunks of 4, 3 chunks a shard
