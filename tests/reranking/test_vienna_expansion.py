import numpy as np
import pytest

from logo_similarity.reranking.expansion import alpha_query_expansion, database_augmentation
from logo_similarity.reranking.vienna import shared_levels, vienna_scores


def vienna_overlap(query, candidate, table=None) -> float:
    """One candidate's score, as the re-ranker computes it for many."""
    return float(vienna_scores(query, [candidate], table)[0])


@pytest.mark.parametrize(
    "query, candidate, expected",
    [
        (["27.05.01"], ["27.05.01"], 1.0),  # same section
        (["27.05.01"], ["27.05.09"], 2 / 3),  # same division
        (["27.05.01"], ["27.07.01"], 1 / 3),  # same category
        (["27.05.01"], ["26.05.01"], 0.0),  # nothing shared (the division number alone means nothing)
        (["27.05.01", "3.1.2"], ["03.01.16", "01.01.01"], 2 / 3),  # best pair counts; "3.1" == "03.01"
        (["27.05.01.02"], ["27.05.01.05"], 1.0),  # auxiliary fourth level ignored
        (["27.05"], ["27.05.01"], 2 / 3),
        ([], ["27.05.01"], None),  # no codes: missing, not 0
        (["27.05.01"], [], None),
    ],
)
def test_vienna_hierarchy(query, candidate, expected):
    got = vienna_overlap(query, candidate)
    assert np.isnan(got) if expected is None else got == pytest.approx(expected)


def test_vienna_scores_and_levels():
    assert shared_levels("26.01.03", "26.01.03") == 3 and shared_levels("26.1", "26.01.03") == 2
    got = vienna_scores(["26.01.03"], [["26.01.03"], None, ["26.04.05"]])
    assert got[0] == 1.0 and np.isnan(got[1]) and got[2] == pytest.approx(1 / 3)


def _unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_alpha_qe_moves_the_query_towards_its_best_candidates():
    rng = np.random.default_rng(0)
    vectors = _unit(rng.normal(size=(50, 16)))
    query = _unit(vectors[0] + 0.3 * rng.normal(size=16))
    scores = vectors @ query
    expanded = alpha_query_expansion(query, vectors, scores, top=1, alpha=1.0)
    assert np.linalg.norm(expanded) == pytest.approx(1.0)
    assert vectors[0] @ expanded > vectors[0] @ query
    np.testing.assert_array_equal(alpha_query_expansion(query, vectors, scores, 0, 3.0), query)  # off


def test_dba_pulls_near_duplicates_together():
    rng = np.random.default_rng(1)
    base = _unit(rng.normal(size=(10, 16)))
    vectors = _unit(np.concatenate([base, base[:3] + 0.3 * rng.normal(size=(3, 16))]))
    augmented = database_augmentation(vectors, top=1, alpha=1.0)
    assert np.allclose(np.linalg.norm(augmented, axis=1), 1.0)
    assert augmented[0] @ augmented[10] > vectors[0] @ vectors[10]
    np.testing.assert_array_equal(database_augmentation(vectors, 0, 3.0), vectors)


def test_the_classification_leaves_out_codes_it_does_not_know():
    from logo_similarity.classification import load_vienna

    table = load_vienna()
    # 26.06 is no division of category 26 (listed completely); 31 is no category: neither counts as evidence
    assert np.isnan(vienna_overlap(["26.06.01"], ["26.06.01"], table))
    assert np.isnan(vienna_overlap(["31.01.01"], ["31.01.01"], table))
    assert vienna_overlap(["26.6.1", "26.1.1"], ["26.01.01"], table) == 1.0
    assert vienna_overlap(["26.06.01"], ["26.06.01"]) == 1.0  # without the table, any well-formed code counts
