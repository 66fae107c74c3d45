import numpy as np
import pytest

from logo_similarity.reranking import composite_scores

W = {"image": 1.0, "text": 0.5}
N = {"text": 0.4}


def test_each_component_moves_the_score_from_its_neutral_point():
    got = composite_scores({"image": np.array([0.9, 0.5, 0.2, np.nan]), "text": np.array([0.5, np.nan, 1.0, np.nan])},
                           W, N)
    np.testing.assert_allclose(got[:3], [0.9 + 0.5 * 0.1, 0.5, 0.2 + 0.5 * 0.6])
    assert np.isnan(got[3])  # nothing to score: missing, not 0


def test_a_missing_name_counts_as_no_evidence_not_as_zero():
    got = composite_scores({"image": np.array([0.8, 0.8, 0.8]), "text": np.array([np.nan, 0.0, 0.4])}, W, N)
    assert got[0] == pytest.approx(0.8) and got[1] == pytest.approx(0.6) and got[2] == pytest.approx(0.8)
    # an unnamed near-copy is not pushed below a named mark that looks less alike and sounds unrelated
    pair = composite_scores({"image": np.array([0.95, 0.80]), "text": np.array([np.nan, 0.35])}, W, N)
    assert pair[0] > pair[1]


def test_one_component_is_itself():
    np.testing.assert_allclose(composite_scores({"image": np.array([0.3, 0.7])}, W), [0.3, 0.7])


def test_bad_arguments():
    with pytest.raises(ValueError, match="no weight"):
        composite_scores({"image": np.ones(2), "vienna": np.ones(2)}, W)
    with pytest.raises(ValueError, match="no components"):
        composite_scores({}, W)
    with pytest.raises(ValueError, match=">= 0"):
        composite_scores({"image": np.ones(2)}, {"image": -1.0})


def test_a_name_read_by_ocr_plays_with_the_ocr_text_weights_or_else_the_text_ones():
    from logo_similarity.reranking import fusion_weights

    weights, neutral = {"image": 1.0, "text": 0.8, "ocr_text": 0.3}, {"text": 0.4, "ocr_text": 0.5}
    assert fusion_weights(weights, neutral, "ocr") == ({**weights, "text": 0.3}, {**neutral, "text": 0.5})
    assert fusion_weights(weights, neutral, "given") == (weights, neutral)
    # no ocr_text entries configured: the typed name's weight and neutral point, not 0
    assert fusion_weights({"text": 0.8}, {"text": 0.4}, "ocr") == ({"text": 0.8}, {"text": 0.4})


def test_ranking_orders_by_score_then_id_and_leaves_out_unscored_rows():
    from logo_similarity.reranking import ranking

    ids = np.array([7, 3, 5, 9])
    scores = np.array([0.5, 0.9, 0.5, np.nan])
    assert ranking(ids, scores).tolist() == [1, 2, 0]  # 0.9 first; the tie 0.5 goes to the smaller id (5 < 7)
    assert ranking(ids, scores, k=2).tolist() == [1, 2]


def test_best_rows_puts_missing_scores_last_and_keeps_row_order_on_ties():
    from logo_similarity.reranking import best_rows

    assert best_rows(np.array([0.2, np.nan, 0.8, 0.2]), 3).tolist() == [2, 0, 3]
    assert best_rows(np.array([0.1, 0.2]), 0).tolist() == []


def test_either_blends_the_sum_with_the_strongest_single_piece_of_evidence():
    components = {"image": np.array([0.2, 0.6]), "text": np.array([1.0, 0.4]), "figure": np.array([np.nan, 0.3])}
    w, n = {"image": 1.0, "text": 0.5, "figure": 1.0}, {"text": 0.4, "figure": 0.2}
    summed = composite_scores(components, w, n)
    np.testing.assert_allclose(summed, [0.2 + 0.3, 0.6 + 0.0 + 0.1])
    blended = composite_scores(components, w, n, either=0.5)
    np.testing.assert_allclose(blended, [0.5 * 0.5 + 0.5 * 0.3, 0.5 * 0.7 + 0.5 * 0.6])
    # one strong element (the same device) against two middling ones: the sum prefers the middling pair,
    # the blend the strong element
    rows = {"image": np.array([0.0, 0.4]), "figure": np.array([0.8, 0.45])}
    weights, neutral = {"image": 1.0, "figure": 1.0}, {"figure": 0.2}
    plain = composite_scores(rows, weights, neutral)
    assert plain[0] < plain[1]
    either = composite_scores(rows, weights, neutral, either=0.5)
    assert either[0] > either[1]


def test_shared_nice_classes_shift_the_sum_but_are_never_the_strongest_evidence():
    from logo_similarity.reranking.vienna import nice_overlap

    np.testing.assert_array_equal(nice_overlap([9, 42], [[42], [3, 5], None, []]), [1.0, 0.0, np.nan, np.nan])
    # two unrelated marks (image 0.1) in the same class: the class moves the sum, not the blend's strongest term
    rows = {"image": np.array([0.1, 0.1, 0.1]), "nice": np.array([1.0, 0.0, np.nan])}
    weights, neutral = {"image": 1.0, "nice": 0.4}, {"nice": 0.5}
    fused = composite_scores(rows, weights, neutral, either=0.75)
    np.testing.assert_allclose(fused, [0.25 * (0.1 + 0.2) + 0.75 * 0.1, 0.25 * (0.1 - 0.2) + 0.75 * 0.1, 0.1])
    assert fused[0] > fused[2] > fused[1]
    only_nice = composite_scores({"nice": np.array([1.0])}, weights, neutral, either=0.75)
    np.testing.assert_allclose(only_nice, [0.25 * 0.2])
