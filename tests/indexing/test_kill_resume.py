"""kill -9 during `logo-sim index`, again and again: the final index equals an uninterrupted build."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from logo_similarity.retrieval import SearchIndex
from tests.support.crashtest import kill_and_resume
from tests.conftest import COLOURS, KINDS, draw_logo

N_IMAGES = 48
KILLS = 12


@pytest.fixture(scope="module")
def gallery(tmp_path_factory):
    root = tmp_path_factory.mktemp("killgallery")
    for i in range(N_IMAGES):
        draw_logo(KINDS[i % len(KINDS)], COLOURS[(i // len(KINDS)) % len(COLOURS)], side=96 + i).save(root / f"{i:03d}.png")
    (root / "zz-broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    return root


def command(gallery, out, work, model_cache):
    env = {**os.environ, "LOGO_SIM__MODEL__CACHE_DIR": str(model_cache), "LOGO_SIM__LOG_LEVEL": "WARNING",
           "LOGO_SIM__MODEL__BATCH_SIZE": "2"}
    args = [sys.executable, "-m", "logo_similarity.cli", "index", str(gallery), "--out", str(out), "--work", str(work),
            "--chunk-size", "3", "--model", "thumbnail"]
    return args, env


def test_killed_builds_resume_to_the_same_index(gallery, model_cache, tmp_path):
    args, env = command(gallery, tmp_path / "reference", tmp_path / "reference.work", model_cache)
    start = time.perf_counter()
    subprocess.run(args, env=env, check=True, capture_output=True, timeout=300)
    full_run = time.perf_counter() - start
    ref = SearchIndex.load(tmp_path / "reference")
    ref_ids = sorted(ref.metadata)

    def same_as_reference(out) -> bool:
        got = SearchIndex.load(out)
        got_ids = sorted(got.metadata)
        assert ref_ids == got_ids and len(got_ids) == N_IMAGES  # nothing lost, nothing duplicated
        np.testing.assert_allclose(got.vectors(np.array(got_ids)), ref.vectors(np.array(ref_ids)), atol=1e-6)
        rejects = [json.loads(line) for line in (out / "current" / "rejects.jsonl").read_text().splitlines()]
        assert [r["key"] for r in rejects] == ["zz-broken.png"]
        return True

    out, work = tmp_path / "resumed", tmp_path / "resumed.work"
    args, env = command(gallery, out, work, model_cache)
    report = kill_and_resume(args, env, work, out, KILLS, same_as_reference, seed=7, patience_s=full_run + 30)
    assert report.kills == KILLS  # exactly as many as asked, however fast the machine finishes a build
    assert report.verified and all(report.verified)
    # the kills hit the build at many different stages, not only while the interpreter was starting
    total_chunks = -(-(N_IMAGES + 1) // 3)
    assert len(set(report.flat)) >= 4, report.chunks_at_kill
    assert any(0 < n < total_chunks for n in report.flat), report.chunks_at_kill
