"""Faults an index root must survive: corrupt files in the live version, a full disk during a build or an add,
and images changed or removed under a built index. (Killed servers: tests/api/test_server_faults.py.)"""

from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest

from logo_similarity.embeddings.spec import ModelSpec
from logo_similarity.retrieval import CorruptIndexError, SearchIndex
from logo_similarity.retrieval.rollback import load_servable
from logo_similarity.retrieval.store.lock import index_writer
from logo_similarity.retrieval.projection import fit_projection
from logo_similarity.retrieval.rollback import roll_back
from tests.conftest import draw_gallery
from tests.support.faults import CLI, check_root, corrupt, file_size_limit

DIM = 48
SPEC = ModelSpec("arch", "w", 224, (0.5,) * 3, (0.5,) * 3, "gem", 3.0, DIM)


def two_versions(root, n=300):
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    metas = [{"key": f"k{i}", "file": f"f{i}.png", "text": f"NAME{i}"} for i in range(n)]
    projection = fit_projection([vectors], 16)
    SearchIndex.from_vectors(SPEC, np.arange(n - 1), vectors[:-1], metas[:-1], projection=projection).save(root)
    SearchIndex.from_vectors(SPEC, np.arange(n), vectors, metas, projection=projection).save(root)
    return vectors


@pytest.mark.parametrize("name, how", [("index.faiss", "truncate"), ("index.faiss", "flip"),
                                       ("metadata.sqlite", "flip"), ("pca.npz", "garbage"),
                                       ("manifest.json", "truncate")])
def test_a_corrupt_live_version_is_refused_and_the_previous_one_served(tmp_path, name, how):
    root = tmp_path / "idx"
    vectors = two_versions(root)
    live = (root / "current").resolve()
    corrupt(live / name, how)
    with pytest.raises(CorruptIndexError, match=name if name != "manifest.json" else "manifest"):
        SearchIndex.load(root)
    served, warning = load_servable(root)
    assert len(served) == 299 and live.name in warning and "corrupt" in warning
    assert served.search(vectors[:5], 1).ids[:, 0].tolist() == [0, 1, 2, 3, 4]
    with index_writer(root, "test"):
        assert roll_back(root).name == served.folder.name
    assert check_root(root)["items"] == 299


def test_rollback_from_the_cli_and_writes_go_on(tmp_path):
    root = tmp_path / "idx"
    two_versions(root)
    corrupt((root / "current").resolve() / "index.faiss", "truncate")
    done = subprocess.run([*CLI, "delete", "3", "--index", str(root)], capture_output=True, text=True)
    assert done.returncode == 2 and "index.faiss" in done.stderr and "Traceback" not in done.stderr
    done = subprocess.run([*CLI, "rollback", "--index", str(root)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([*CLI, "delete", "3", "--index", str(root)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    state = check_root(root)
    assert state["items"] == 298 and 3 not in state["ids"]


def gallery(folder, n=24):
    draw_gallery(folder, n, side=90, grow=3)
    return folder


def cli(args, model_cache, limit=None):
    # no OCR at index time (names read, nor the element split's text boxes): its models would be exported into
    # the cache on first use, a write of its own that the file-size limit would stop before any chunk (when no
    # earlier test of the session has exported them)
    env = {**os.environ, "LOGO_SIM__MODEL__CACHE_DIR": str(model_cache), "LOGO_SIM__LOG_LEVEL": "INFO",
           "LOGO_SIM__RERANK__OCR_INDEX": "false", "LOGO_SIM__ELEMENTS__ENABLED": "false"}
    return subprocess.run([*CLI, *map(str, args)], env=env, capture_output=True, text=True, timeout=300,
                          preexec_fn=file_size_limit(limit) if limit else None)


def test_disk_full_during_a_build_then_the_next_run_resumes(tmp_path, model_cache):
    images, out, work = gallery(tmp_path / "g", n=60), tmp_path / "idx", tmp_path / "work"
    build = ["index", images, "--out", out, "--work", work, "--chunk-size", "4", "--model", "thumbnail"]
    full = cli(build, model_cache, limit=40_000)  # the embedding cache (~1 kB per image) outgrows 40 kB part-way
    assert full.returncode == 2, full.stderr
    assert "disk full" in full.stderr and "Traceback" not in full.stderr
    assert not (out / "current").exists()  # nothing half-written is live
    assert list(work.glob("chunk-*.done"))  # it failed part-way: the chunks it finished are kept
    done = cli(build, model_cache)
    assert done.returncode == 0, done.stderr
    state = check_root(out)
    assert state["items"] == 60 and state["staging_left"] == 0
    assert "resuming" in done.stderr or "reused" in done.stderr


def test_disk_full_during_an_add_leaves_the_index_as_it_was(tmp_path, model_cache):
    images, out = gallery(tmp_path / "g"), tmp_path / "idx"
    assert cli(["index", images, "--out", out, "--model", "thumbnail"], model_cache).returncode == 0
    before = check_root(out)
    more = gallery(tmp_path / "more", n=30)
    full = cli(["add", more, "--index", out], model_cache, limit=20_000)
    assert full.returncode == 2 and "disk full" in full.stderr and "Traceback" not in full.stderr, full.stderr
    assert check_root(out) == before
    done = cli(["add", more, "--index", out], model_cache)
    assert done.returncode == 0, done.stderr
    after = check_root(out)
    assert after["items"] == 54 and after["staging_left"] == 0
