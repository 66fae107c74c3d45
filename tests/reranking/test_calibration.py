"""Fused score -> conflict probability: isotonic knots applied by interpolation, calibration error, tiers."""

from __future__ import annotations

import numpy as np
import pytest

from logo_similarity.reranking.calibration import (
    Calibration, expected_calibration_error, fit_isotonic, reliability, score_floor, tiers)


def pairs(n: int, seed: int):
    """Scores whose true conflict probability is a known monotone function of the score."""
    rng = np.random.default_rng(seed)
    scores = rng.uniform(-0.5, 1.5, n)
    truth = 1.0 / (1.0 + np.exp(-6.0 * (scores - 0.6)))
    return scores, (rng.uniform(size=n) < truth).astype(float), truth


def test_isotonic_calibration_is_monotone_and_calibrated_on_held_out_pairs(tmp_path):
    scores, labels, _ = pairs(20_000, seed=0)
    calibration = fit_isotonic(scores, labels)
    grid = np.linspace(-1, 2, 301)
    probs = calibration(grid)
    assert (np.diff(probs) >= 0).all() and probs[0] >= 0.0 and probs[-1] <= 1.0
    held_scores, held_labels, truth = pairs(20_000, seed=1)
    held = calibration(held_scores)
    assert expected_calibration_error(held, held_labels) < 0.02
    assert np.abs(held - truth).mean() < 0.05
    overconfident = np.clip(2.0 * held - 0.5, 0, 1)  # the same order, probabilities pushed to the ends
    assert expected_calibration_error(overconfident, held_labels) > 3 * expected_calibration_error(held, held_labels)
    calibration.save(tmp_path / "c.json")
    assert Calibration.load(tmp_path / "c.json") == calibration
    assert np.isnan(calibration(np.array([np.nan, 0.3]))[0])


def test_reliability_bins_and_tiers():
    probs = np.array([0.05, 0.15, 0.95, 0.95, np.nan])
    labels = np.array([0, 1, 1, 0, 1])
    rows = reliability(probs, labels, bins=10)
    assert [r["pairs"] for r in rows] == [1, 1, 0, 0, 0, 0, 0, 0, 0, 2]
    assert rows[9]["observed"] == 0.5 and rows[9]["predicted"] == pytest.approx(0.95)
    assert expected_calibration_error(probs, labels, bins=10) == pytest.approx((0.05 + 0.85 + 2 * 0.45) / 4)
    assert list(tiers(np.array([0.95, 0.8, 0.6, 0.2, np.nan]), medium=0.5, high=0.8)) == [
        "high", "high", "medium", "low", "low"]
    with pytest.raises(ValueError, match="both kinds"):
        fit_isotonic(np.array([0.1, 0.2]), np.array([1, 1]))


def test_the_shipped_calibration_belongs_to_the_shipped_fusion_and_another_fusion_gets_no_conflict_score(tmp_path):
    """Served conflict scores come from the packaged map, fitted under the default fusion; a configured fusion that
    differs (scores on another scale) gets none rather than wrong probabilities; a broken file is a clear error."""
    from logo_similarity.config import load_settings
    from logo_similarity.reranking.calibration import CalibrationError, conflict_scores, load_calibration

    settings = load_settings(environ={})
    for space in ("whitened", "raw"):  # an index with its own PCA, and one of too few marks for it
        shipped = load_calibration(None, space)
        assert shipped.fits(settings.rerank.weights, settings.rerank.neutral, settings.rerank.either)
        assert shipped.provenance["pairs"] > 1000 and shipped.provenance["space"] == space and len(shipped.x) >= 2
        probs, tier = conflict_scores(np.array([-1.0, 0.5, 2.0]), settings.calibration, settings.rerank,
                                      whitened=space == "whitened")
        assert (np.diff(probs) >= 0).all() and 0 <= probs[0] <= probs[-1] <= 1
        assert set(tier) <= {"low", "medium", "high"} and tier[0] == "low"
    # the same fused score is weaker evidence without whitening (unrelated pairs sit near cosine .6, not 0)
    mid = np.array([0.7])
    assert (conflict_scores(mid, settings.calibration, settings.rerank, whitened=False)[0]
            <= conflict_scores(mid, settings.calibration, settings.rerank, whitened=True)[0])
    other = settings.rerank.model_copy(update={"either": 0.1})
    assert conflict_scores(np.array([0.5]), settings.calibration, other) is None
    (tmp_path / "bad.json").write_text('{"x": [1, 0], "y": [0, 1]}')
    with pytest.raises(CalibrationError, match="ascending"):
        load_calibration(str(tmp_path / "bad.json"))


def test_score_floor_is_the_lowest_fused_score_whose_probability_reaches_the_threshold():
    """What a watch list's min_conflict is as a fused score: every score at or above it reaches the probability,
    none below it does (the watch prunes spatial verification against it)."""
    calibration = Calibration((0.0, 0.2, 0.5, 0.8), (0.0, 0.0, 0.4, 1.0))
    scores = np.linspace(-1.0, 2.0, 30001)
    for probability in (0.004, 0.1, 0.4, 0.7, 1.0):
        floor = score_floor(calibration, probability)
        assert calibration(np.array([floor]))[0] == pytest.approx(probability)
        reaching = scores[calibration(scores) >= probability]
        assert reaching.min() == pytest.approx(floor, abs=2e-4) and (calibration(scores[scores < floor - 1e-9]) <
                                                                       probability).all()
    assert score_floor(calibration, 0.1) == pytest.approx(0.2 + 0.1 / 0.4 * 0.3)
    assert score_floor(calibration, 0.0) == -np.inf  # every score reaches it
    assert score_floor(Calibration((0.0, 1.0), (0.0, 0.5)), 0.6) == np.inf  # no score does
    assert score_floor(Calibration((0.0, 0.2, 0.5, 0.8), (0.0, 0.3, 0.3, 1.0)), 0.3) == pytest.approx(0.2)  # flat
