import json

import numpy as np
import pytest

from logo_similarity.embeddings.spec import ModelSpec
from logo_similarity.retrieval import IndexMismatchError, IndexNotFoundError, SearchIndex
from logo_similarity.retrieval.store.errors import CorruptIndexError

SPEC = ModelSpec("arch", "w1", 224, (0.5,) * 3, (0.5,) * 3, "gem", 3.0, 8)


def random_unit(n, d=8, seed=0):
    x = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def make_index(n=20):
    index = SearchIndex(SPEC)
    ids = np.arange(100, 100 + n)
    index.add(ids, random_unit(n), [{"key": f"k{i}", "file": f"f{i}.png", "text": None} for i in ids])
    return index


def test_exact_search_finds_itself():
    index = make_index()
    hits = index.search(random_unit(20)[[3, 7]], 5)
    assert hits.ids[:, 0].tolist() == [103, 107]
    assert np.allclose(hits.scores[:, 0], 1.0, atol=1e-5)
    assert (np.diff(hits.scores, axis=1) <= 1e-6).all()


def test_save_load_round_trip(tmp_path):
    index = make_index()
    index.save(tmp_path / "idx")
    loaded = SearchIndex.load(tmp_path / "idx", expected_spec=SPEC)
    assert len(loaded) == 20 and loaded.spec == SPEC
    assert loaded.metadata == index.metadata
    q = random_unit(20)[:4]
    np.testing.assert_array_equal(loaded.search(q, 5).ids, index.search(q, 5).ids)
    manifest = json.loads((tmp_path / "idx" / "current" / "manifest.json").read_text())
    assert manifest["count"] == 20 and manifest["spec"]["pooling"] == "gem"


def test_save_replaces_an_existing_index(tmp_path):
    make_index(20).save(tmp_path / "idx")
    make_index(5).save(tmp_path / "idx")
    assert len(SearchIndex.load(tmp_path / "idx")) == 5
    assert [p.name for p in tmp_path.iterdir()] == ["idx"]
    assert sorted(p.name for p in (tmp_path / "idx").iterdir()) == ["current", "versions"]  # no staging left


def test_reader_sees_the_old_version_until_the_switch(tmp_path):
    from logo_similarity.retrieval.store.versions import switch_current

    root = tmp_path / "idx"
    make_index(20).save(root)
    pending = make_index(7).write_version(root)  # a build that has written everything but not switched
    assert len(SearchIndex.load(root)) == 20
    switch_current(root, pending)
    assert len(SearchIndex.load(root)) == 7


def test_old_versions_are_pruned_and_the_live_one_kept(tmp_path):
    root = tmp_path / "idx"
    for n in (3, 4, 5, 6):
        make_index(n).save(root, keep_versions=2)
    versions = sorted(p.name for p in (root / "versions").iterdir())
    assert len(versions) == 2
    assert len(SearchIndex.load(root)) == 6
    assert len(SearchIndex.load(root / "versions" / versions[0])) == 5  # a version folder loads directly


def test_a_half_written_version_left_by_a_crash_is_never_loaded_and_is_cleaned_up(tmp_path):
    root = tmp_path / "idx"
    make_index(3).save(root)
    staging = root / "versions" / ".20990101T000000-000000001-1.tmp"  # as write_version names it
    staging.mkdir()
    (staging / "index.faiss").write_bytes(b"half")
    assert len(SearchIndex.load(root)) == 3
    make_index(4).save(root)
    assert not staging.exists() and len(SearchIndex.load(root)) == 4


def test_mismatched_model_is_a_clear_error(tmp_path):
    make_index().save(tmp_path / "idx")
    other = ModelSpec("arch", "w1", 224, (0.5,) * 3, (0.5,) * 3, "avg", 0.0, 8)
    with pytest.raises(IndexMismatchError, match="pooling: 'gem' != 'avg'"):
        SearchIndex.load(tmp_path / "idx", expected_spec=other)


def test_missing_and_inconsistent_index(tmp_path):
    with pytest.raises(IndexNotFoundError, match="logo-sim index"):
        SearchIndex.load(tmp_path / "nothing")
    make_index().save(tmp_path / "idx")
    import sqlite3

    with sqlite3.connect(tmp_path / "idx" / "current" / "metadata.sqlite") as db:
        db.execute("DELETE FROM items WHERE id = (SELECT MAX(id) FROM items)")
    with pytest.raises(CorruptIndexError, match="metadata.sqlite"):  # not what was written
        SearchIndex.load(tmp_path / "idx")
    # a version written before files were recorded in the manifest is still checked for consistency
    manifest = tmp_path / "idx" / "current" / "manifest.json"
    manifest.write_text(json.dumps({k: v for k, v in json.loads(manifest.read_text()).items() if k != "files"}))
    with pytest.raises(CorruptIndexError, match="inconsistent"):
        SearchIndex.load(tmp_path / "idx")


def test_duplicate_ids_and_bad_shapes_rejected():
    index = make_index()
    with pytest.raises(ValueError, match="duplicate"):
        index.add(np.array([100]), random_unit(1), [{"key": "x", "file": "x"}])
    with pytest.raises(ValueError, match="must be"):
        index.add(np.array([1]), np.ones((1, 3), np.float32), [{"key": "x", "file": "x"}])


def test_k_larger_than_index():
    hits = make_index(3).search(random_unit(1), 10)
    assert hits.ids.shape == (1, 3)


def test_memory_mapped_load_searches_the_same_and_is_read_only(tmp_path):
    from logo_similarity.retrieval.index import SearchIndexError

    index = make_index()
    index.save(tmp_path / "idx")
    mapped = SearchIndex.load(tmp_path / "idx", mmap=True)
    q = random_unit(20)[:5]
    np.testing.assert_array_equal(mapped.search(q, 5).ids, index.search(q, 5).ids)
    with pytest.raises(SearchIndexError, match="read-only"):
        mapped.add(np.array([1]), random_unit(1), [{"key": "x", "file": "x"}])
    with pytest.raises(SearchIndexError, match="read-only"):
        mapped.remove([100])


def test_metadata_round_trips_through_sqlite(tmp_path):
    index = SearchIndex(SPEC)
    metas = [
        {"key": "a", "file": "a.png", "text": "ACME", "vienna_codes": ["27.05.01"], "year": 2016,
         "text_boxes": [[1, 2, 3, 4]], "source_sha256": "ab" * 32, "ocr_text": "ACME", "custom": {"x": 1}},
        {"key": "b", "file": "b.png", "text": None, "vienna_codes": [], "year": None},
    ]
    index.add(np.array([7, 9]), random_unit(2), metas)
    index.save(tmp_path / "idx")
    loaded = SearchIndex.load(tmp_path / "idx")
    assert loaded.metadata == index.metadata
    assert loaded.metadata[7]["custom"] == {"x": 1} and loaded.metadata[9]["text"] is None


def test_name_index_is_stored_with_the_version(tmp_path):
    from logo_similarity.config import TextSettings
    from logo_similarity.embeddings.spec import ModelSpec

    spec = ModelSpec("synthetic", "none", 0, (0.0,) * 3, (1.0,) * 3, "none", 0.0, 8)
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(5, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    names = ["Kodak", "Codac", None, "Nikon", "Xerox"]
    metas = [{"key": str(i), "file": f"{i}.png", "text": n} for i, n in enumerate(names)]
    SearchIndex.from_vectors(spec, np.arange(5), vectors, metas).save(tmp_path)
    loaded = SearchIndex.load(tmp_path, mmap=True)
    assert loaded.names_file is not None and loaded.names_file.name == "names.npz"
    weight = TextSettings().phonetic_weight
    hits = loaded.name_index(weight).search("KODACK", 3, 100)
    assert [h.id for h in hits][:2] == [0, 1] and hits[0].score > 0.7
    rebuilt = SearchIndex.load(tmp_path, mmap=False)
    rebuilt.remove([1])  # a change drops the stored structure: the next one is built from the items left
    assert rebuilt.names_file is None and [h.id for h in rebuilt.name_index(weight).search("KODACK", 3, 100)][0] == 0
    assert 1 not in [h.id for h in rebuilt.name_index(weight).search("KODACK", 3, 100)]


def test_version_names_keep_increasing_when_the_clock_steps_back(tmp_path, monkeypatch):
    # rollback and pruning order versions by name: a newer version must never sort before an older one
    import time as time_module

    from logo_similarity.retrieval.store.versions import versions_newest_first

    root = tmp_path / "idx"
    readings = iter([1_795_000_000_999_999_000, 1_795_000_001_000_817_211, 1_795_000_000_500_000_000])
    monkeypatch.setattr(time_module, "time_ns", lambda: next(readings))
    real_gmtime = time_module.gmtime  # the coarse clock behind a bare gmtime() has not ticked to the next second
    monkeypatch.setattr(time_module, "gmtime", lambda *at: real_gmtime(*at) if at else real_gmtime(1_795_000_000))
    sizes = (3, 4, 5)  # the third save's clock reading is earlier than both before it
    for n in sizes:
        make_index(n).save(root, keep_versions=5)
    newest_first = versions_newest_first(root)
    assert [len(SearchIndex.load(v)) for v in newest_first] == [5, 4, 3]
    assert newest_first[0].resolve() == (root / "current").resolve()
