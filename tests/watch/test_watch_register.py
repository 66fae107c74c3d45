"""A watch list too small for a PCA of its own borrows its register's (real embedder, OCR, FAISS)."""

from __future__ import annotations

import os
import subprocess

import numpy as np
from loguru import logger

from logo_similarity.datasets import LogoRecord
from logo_similarity.datasets.transforms import modified_copy as copy_of
from logo_similarity.embeddings.embedder import embed_images
from logo_similarity.indexing import build_with_settings
from logo_similarity.preprocessing import load_image
from logo_similarity.retrieval import SearchIndex
from logo_similarity.retrieval.store.index_io import read_projection
from logo_similarity.watch.filings import read_filings
from logo_similarity.watch.marks import read_watch_marks
from logo_similarity.watch.run import create_watch, marks_folder, run_watch
from logo_similarity.watch.store import WatchStore
from tests.conftest import COLOURS, KINDS, draw_logo
from tests.watch.planted import CLI, PLANTED, write_filings, write_marks


def test_a_small_list_is_compared_in_its_registers_whitened_space(default_embedder, settings, tmp_path):
    """A list too small for a PCA of its own borrows the register's (API: the served index's; CLI: --register):
    its vectors are the register's projection of its marks, and the planted conflicts still lead."""
    filings, _ = read_filings(write_filings(tmp_path / "filings"), settings)
    register_settings = settings.model_copy(update={"index": settings.index.model_copy(
        update={"pca_dim": 24, "pca_min_items": 40})})
    (tmp_path / "register").mkdir()
    records = []
    for i in range(48):  # a register of rendered devices and their modified copies
        copy_of(draw_logo(KINDS[i % len(KINDS)], COLOURS[i % 6]), seed=i)[0].save(tmp_path / "register" / f"r{i}.png")
        records.append(LogoRecord(f"r{i}", tmp_path / "register" / f"r{i}.png"))
    register, _ = build_with_settings(records, default_embedder, register_settings, factory="Flat", stage2=False)
    register.save(tmp_path / "register-index")
    projection, spec = read_projection(tmp_path / "register-index")
    assert projection is not None and projection.dim == 24 and not spec.mismatch(default_embedder.spec)

    store = WatchStore(tmp_path / "store")
    marks = read_watch_marks(write_marks(tmp_path / "marks"))
    warned: list[str] = []
    sink = logger.add(lambda message: warned.append(str(message)), level="WARNING")
    try:
        watch = create_watch(store, "borrowed", "client-a", marks, default_embedder, settings, projection=projection)
    finally:
        logger.remove(sink)
    assert not any("raw embeddings" in w for w in warned), warned
    listed = SearchIndex.load(marks_folder(store, watch))
    assert listed.projection is not None and np.array_equal(listed.projection.components, projection.components)
    raw = embed_images(default_embedder, [load_image(m.path, settings.image) for m in marks[:2]])
    np.testing.assert_allclose(listed.vectors(np.array([0, 1])), projection(raw), atol=1e-3)
    run_watch(store, watch, filings, default_embedder, settings)
    alerts = store.alerts(watch)
    assert {(a["mark"]["key"], a["filing"]["key"]) for a in alerts[:3]} == {(m, f) for f, m in PLANTED.items()}
    assert all(a["conflict_score"] is not None for a in alerts)

    env = {**os.environ, "LOGO_SIM__MODEL__CACHE_DIR": settings.model.cache_dir, "LOGO_SIM__LOG_LEVEL": "WARNING",
           "COLUMNS": "200"}  # the usage error's box unwrapped
    base = [*CLI, "watch", "create", "--marks", str(tmp_path / "marks" / "marks.csv"), "--root", str(tmp_path / "cli")]
    made = subprocess.run([*base[:5], "by-cli", *base[5:], "--register", str(tmp_path / "register-index")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr[-2000:]
    cli_store = WatchStore(tmp_path / "cli")
    by_cli = SearchIndex.load(marks_folder(cli_store, cli_store.get("by-cli", "admin")))
    assert np.array_equal(by_cli.projection.components, projection.components)
    missing = subprocess.run([*base[:5], "nowhere", *base[5:], "--register", str(tmp_path / "no-index")], env=env,
                             capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2 and "holds no index" in missing.stderr and "Traceback" not in missing.stderr
