"""`logo-sim index --engine ray` on a local 2-worker Ray cluster: same index as the local engine, resumes after kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from logo_similarity.retrieval import SearchIndex
from tests.conftest import draw_gallery

pytest.importorskip("ray", reason="the Ray engine is the optional extra [distributed]")

CHUNK = 2


@pytest.fixture(scope="module")
def gallery(tmp_path_factory):
    root = tmp_path_factory.mktemp("raygallery")
    draw_gallery(root, n=16, side=96, grow=2)
    (root / "zz-broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    return root


def _build(gallery, out, model_cache, *extra, wait=True):
    env = {**os.environ, "LOGO_SIM__MODEL__CACHE_DIR": str(model_cache), "LOGO_SIM__LOG_LEVEL": "INFO",
           "LOGO_SIM__MODEL__BATCH_SIZE": "2", "RAY_USAGE_STATS_ENABLED": "0"}
    args = [sys.executable, "-m", "logo_similarity.cli", "index", str(gallery), "--out", str(out),
            "--chunk-size", str(CHUNK), *extra]
    # own session: a kill takes the Ray processes the build started with it
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    if not wait:
        return proc
    out_text, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out_text[-3000:]
    return out_text


def _same(a: SearchIndex, b: SearchIndex) -> None:
    ids = np.array(sorted(a.metadata))
    assert ids.tolist() == sorted(b.metadata)
    np.testing.assert_allclose(a.vectors(ids), b.vectors(ids), atol=1e-5)
    for i in ids.tolist():
        assert a.metadata[i]["file"] == b.metadata[i]["file"]
        assert a.metadata[i].get("ocr_text") == b.metadata[i].get("ocr_text")
    for part_a, part_b in zip(a.local.take(ids), b.local.take(ids)):
        np.testing.assert_allclose(np.asarray(part_a, np.float32), np.asarray(part_b, np.float32), atol=1e-3)


@pytest.fixture(scope="module")
def local_index(gallery, model_cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "index"
    _build(gallery, out, model_cache)
    return SearchIndex.load(out)


def test_ray_engine_builds_the_local_engines_index(gallery, model_cache, local_index, tmp_path):
    log = _build(gallery, tmp_path / "index", model_cache, "--engine", "ray", "--num-workers", "2")
    assert "on 2 actors" in log
    ray_index = SearchIndex.load(tmp_path / "index")
    _same(local_index, ray_index)
    rejects = (ray_index.folder / "rejects.jsonl").read_text()
    assert "zz-broken.png" in rejects


def test_killed_ray_build_resumes(gallery, model_cache, local_index, tmp_path):
    out = tmp_path / "index"
    work = tmp_path / ".index.work"
    proc = _build(gallery, out, model_cache, "--engine", "ray", "--num-workers", "2", wait=False)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and len(list(work.glob("*.done"))) < 2 and proc.poll() is None:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(list(work.glob("*.done")))
    assert 2 <= done < 9, f"kill landed at {done} of 9 chunks"
    log = _build(gallery, out, model_cache, "--engine", "ray", "--num-workers", "2")
    assert "resuming: " in log and " of 17 images already embedded" in log
    _same(local_index, SearchIndex.load(out))


def test_shards_added_as_ray_tasks_equal_local_shards(tmp_path):
    import ray

    from logo_similarity.indexing.ray_engine import RayEngine
    from logo_similarity.indexing.sharded import build_sharded_index
    from tests.indexing.test_sharded import SPEC, clustered_data, loaders

    ids, x, q = clustered_data()
    metas = {int(i): {"key": str(i)} for i in ids}
    local = build_sharded_index(SPEC, "IVF32,Flat", tmp_path / "local", loaders(ids, x), metas)
    try:
        on_ray = build_sharded_index(SPEC, "IVF32,Flat", tmp_path / "ray", loaders(ids, x), metas,
                                     engine=RayEngine(None, None, num_workers=2, object_store_mb=200))
    finally:
        ray.shutdown()
    np.testing.assert_array_equal(on_ray.search(q, 50).ids, local.search(q, 50).ids)
