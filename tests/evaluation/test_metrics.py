import numpy as np
import pytest

from logo_similarity.evaluation.metrics import (
    average_precision_at_k,
    full_ranks,
    map_at_k,
    normalized_average_rank,
    recall_at_k,
    relevance_matrix,
)

H = np.array(
    [
        [1, 0, 0, 0],  # relevant at rank 1
        [0, 0, 1, 0],  # relevant at rank 3
        [0, 0, 0, 0],  # never
        [0, 1, 0, 1],  # ranks 2 and 4
    ],
    dtype=bool,
)


@pytest.mark.parametrize("k, expected", [(1, 0.25), (2, 0.5), (3, 0.75), (4, 0.75)])
def test_recall_at_k_is_hit_rate(k, expected):
    assert recall_at_k(H, k) == pytest.approx(expected)


def test_average_precision_table():
    n_rel = np.array([1, 1, 1, 2])
    ap = average_precision_at_k(H, n_rel, 4)
    np.testing.assert_allclose(ap, [1.0, 1 / 3, 0.0, (1 / 2 + 2 / 4) / 2])


def test_ap_denominator_counts_unretrieved_relevant_items():
    # one of three relevant items found, at rank 1: AP = (1/3) * 1
    assert average_precision_at_k(np.array([[1, 0, 0]], bool), np.array([3]), 3)[0] == pytest.approx(1 / 3)
    # denominator is capped at k
    assert average_precision_at_k(np.array([[1, 1]], bool), np.array([10]), 2)[0] == pytest.approx(1.0)


def test_map_ignores_queries_without_relevant_items():
    hits = np.array([[1, 0], [0, 0]], bool)
    assert map_at_k(hits, np.array([1, 0]), 2) == pytest.approx(1.0)


def test_relevance_matrix_pads_short_rankings():
    m = relevance_matrix([[5, 3], [7]], [{3}, {9}], depth=3)
    assert m.tolist() == [[False, True, False], [False, False, False]]


@pytest.mark.parametrize(
    "ranks, n, expected",
    [
        ([1, 2, 3], 100, 0.0),  # perfect
        ([1], 10, 0.0),
        ([10], 10, 9 / 10),  # single relevant item last
        ([2, 4], 10, (6 - 3) / 20),
    ],
)
def test_normalized_average_rank_table(ranks, n, expected):
    assert normalized_average_rank(np.array(ranks), n) == pytest.approx(expected)


def test_nar_of_random_ranking_is_about_half():
    rng = np.random.default_rng(0)
    n = 10_000
    nars = [normalized_average_rank(rng.choice(n, 20, replace=False) + 1, n) for _ in range(200)]
    assert np.mean(nars) == pytest.approx(0.5, abs=0.02)


def test_nar_empty_is_nan():
    assert np.isnan(normalized_average_rank(np.array([]), 10))


def test_full_ranks_with_ignored_items_and_ties():
    scores = np.array([0.9, 0.5, 0.7, 0.7, 0.1])
    valid = np.array([False, True, True, True, True])  # item 0 is the query itself
    assert full_ranks(scores, np.array([2, 1]), valid).tolist() == [2, 3]  # tie with item 3 counts against
    assert full_ranks(scores, np.array([4]), None).tolist() == [5]
