
import pytest

from logo_similarity.evaluation.vienna import evaluate_vienna, vienna_prefix, vienna_relevance


@pytest.mark.parametrize("code, level, expected", [("27.05.01", 2, "27.05"), ("27.05.01", 1, "27"), ("3.1", 2, "3.1")])
def test_vienna_prefix(code, level, expected):
    assert vienna_prefix(code, level) == expected


def test_vienna_relevance_table():
    codes = [("27.05.01",), ("27.05.09", "01.01.01"), ("01.01.05",), (), ("26.01.01",)]
    assert vienna_relevance(codes, level=2) == [{1}, {0, 2}, {1}, set(), set()]
    assert vienna_relevance(codes, level=3) == [set(), set(), set(), set(), set()]


def test_evaluate_vienna_on_tiny_gallery(tiny_gallery, onnx_embedder, settings):
    report = evaluate_vienna(tiny_gallery / "metadata.jsonl", onnx_embedder, settings)
    row = report["tasks"]["vienna_level2"]
    assert row["n"] == 12 and report["gallery"] == 12
    assert 0.0 <= row["nar"] <= 1.0 and 0.0 <= row["map@100"] <= 1.0
    assert row["recall@100"] == 1.0  # every item has 2 relevant partners among 11 candidates


def test_evaluate_vienna_with_pca(tiny_gallery, onnx_embedder, settings):
    with_pca = settings.model_copy(update={"index": settings.index.model_copy(update={"pca_dim": 8, "pca_min_items": 10})})
    report = evaluate_vienna(tiny_gallery / "metadata.jsonl", onnx_embedder, with_pca)
    assert report["tasks"]["vienna_level2"]["n"] == 12
