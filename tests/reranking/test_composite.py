import numpy as np
import pytest

from logo_similarity.reranking import composite_scores

W = {"image": 0.6, "text": 0.4}


def test_weighted_mean_of_present_components():
    got = composite_scores({"image": np.array([0.9, 0.5, 0.2, np.nan]), "text": np.array([0.5, np.nan, 1.0, np.nan])}, W)
    np.testing.assert_allclose(got[:3], [0.6 * 0.9 + 0.4 * 0.5, 0.5, 0.6 * 0.2 + 0.4 * 1.0])
    assert np.isnan(got[3])  # nothing to score: missing, not 0


def test_a_missing_name_does_not_count_as_zero():
    got = composite_scores({"image": np.array([0.8, 0.8]), "text": np.array([np.nan, 0.0])}, W)
    assert got[0] == pytest.approx(0.8) and got[1] == pytest.approx(0.48)


def test_bad_arguments():
    with pytest.raises(ValueError, match="no weight"):
        composite_scores({"image": np.ones(2), "vienna": np.ones(2)}, W)
    with pytest.raises(ValueError, match="no components"):
        composite_scores({}, W)
    with pytest.raises(ValueError, match=">= 0"):
        composite_scores({"image": np.ones(2)}, {"image": -1.0})
