"""A run asks the query path only for the pairs that can pass (real embedder, OCR, FAISS): what it spares is
spatial verification of hopeless candidates, never a result."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
from loguru import logger

from logo_similarity.preprocessing import load_image
from logo_similarity.reranking.calibration import calibration_of
from logo_similarity.retrieval import SearchIndex
from logo_similarity.search.query import run_queries
from logo_similarity.search.request import Query
from logo_similarity.watch.filings import read_filings
from logo_similarity.watch.marks import read_watch_marks
from logo_similarity.watch.run import create_watch, fused_floor, marks_folder, run_watch
from logo_similarity.watch.store import WatchStore
from tests.watch.planted import write_filings, write_marks


def test_a_floor_spares_spatial_verification_and_changes_no_result_it_keeps(default_embedder, settings, tmp_path):
    store = WatchStore(tmp_path / "store")
    warned: list[str] = []
    sink = logger.add(lambda message: warned.append(str(message)), level="WARNING")
    try:
        watch = create_watch(store, "floor", "client-a", read_watch_marks(write_marks(tmp_path / "marks")),
                             default_embedder, settings)
    finally:
        logger.remove(sink)
    # no register given and too few marks for a PCA of their own: it works, and says it ranks worse
    assert any("compared in raw embeddings" in w and "--register" in w for w in warned), warned
    filings, _ = read_filings(write_filings(tmp_path / "filings"), settings)
    filings = [f for f in filings if f.key != "broken"]
    index = SearchIndex.load(marks_folder(store, watch))

    def search(floor):
        queries = [Query(image=load_image(f.path, settings.image), text=f.text, k=len(index), rerank=True,
                         min_score=floor) for f in filings]
        return run_queries(index, default_embedder, queries, settings)

    plain = search(None)
    floor = sorted(r.score for outcome in plain for r in outcome.results)[-4]  # four pairs reach it
    pruned = search(floor)
    for whole, kept in zip(plain, pruned):  # the same results, rank and component for component
        assert [asdict(r) for r in kept.results] == [asdict(r) for r in whole.results if r.score >= floor]
    assert sum(len(o.results) for o in pruned) == 4
    assert sum(o.spatial_scored for o in pruned) < sum(o.spatial_scored for o in plain)

    # a run's floor is its list's min_conflict as a fused score: every alert is at or above it
    whitened = index.projection is not None
    run_floor = fused_floor(watch, whitened, settings)
    calibration = calibration_of(settings.calibration, whitened)
    assert calibration(np.array([run_floor + 1e-6]))[0] >= watch.min_conflict > 0
    run_watch(store, watch, filings, default_embedder, settings)
    alerts = store.alerts(watch)
    assert alerts and all(a["score"] >= run_floor for a in alerts)
