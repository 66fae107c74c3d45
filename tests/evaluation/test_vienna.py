import json
import shutil

import pytest

from logo_similarity.evaluation.vienna import evaluate_vienna, vienna_prefix, vienna_relevance
from tests.conftest import COLOURS, draw_logo


@pytest.mark.parametrize("code, level, expected", [("27.05.01", 2, "27.05"), ("27.05.01", 1, "27"), ("3.1", 2, "3.1")])
def test_vienna_prefix(code, level, expected):
    assert vienna_prefix(code, level) == expected


def test_vienna_relevance_table():
    codes = [("27.05.01",), ("27.05.09", "01.01.01"), ("01.01.05",), (), ("26.01.01",)]
    assert vienna_relevance(codes, level=2) == [{1}, {0, 2}, {1}, set(), set()]
    assert vienna_relevance(codes, level=3) == [set(), set(), set(), set(), set()]


def coded_gallery(folder, codes_of_shape):
    """Two byte-identical copies of each shape, coded per ``codes_of_shape``: the copies find each other first."""
    folder.mkdir()
    lines = []
    for i, (kind, code) in enumerate(codes_of_shape.items()):
        draw_logo(kind, COLOURS[i % len(COLOURS)]).save(folder / f"{kind}-a.png")
        shutil.copy(folder / f"{kind}-a.png", folder / f"{kind}-b.png")
        lines += [{"file": f"{kind}-{copy}.png", "vienna_codes": [code]} for copy in "ab"]
    (folder / "metadata.jsonl").write_text("\n".join(json.dumps(x) for x in lines))
    return folder / "metadata.jsonl"


def test_evaluate_vienna_scores_a_known_ranking(tmp_path, onnx_embedder, settings):
    shapes = {"ring": "01.01.01", "star": "01.01.05", "cross": "26.01.01", "hexagon": "26.04.02", "key": "27.05.01"}
    report = evaluate_vienna(coded_gallery(tmp_path / "g", shapes), onnx_embedder, settings, level=3)
    row = report["tasks"]["vienna_level3"]
    # each mark's only relevant partner is its identical copy, which comes first: perfect scores
    assert row["n"] == 10 and report["gallery"] == 10
    assert row["map@100"] == pytest.approx(1.0) and row["nar"] == pytest.approx(0.0, abs=1e-9)

    # at level 2 the codes 01.01.xx share a division: ring and star copies are relevant to each other too,
    # and a ring is never as close to a star as to its own copy, so precision drops below 1
    coarse = evaluate_vienna(coded_gallery(tmp_path / "g2", shapes), onnx_embedder, settings, level=2)
    row2 = coarse["tasks"]["vienna_level2"]
    assert row2["n"] == 10 and row2["map@100"] < 1.0 and row2["recall@100"] == 1.0


def test_evaluate_vienna_with_pca_agrees_on_a_clear_case(tmp_path, onnx_embedder, settings):
    shapes = {"ring": "01.01.01", "star": "01.01.05", "cross": "26.01.01", "hexagon": "26.04.02", "key": "27.05.01"}
    with_pca = settings.model_copy(update={"index": settings.index.model_copy(update={"pca_dim": 8, "pca_min_items": 10})})
    report = evaluate_vienna(coded_gallery(tmp_path / "g", shapes), onnx_embedder, with_pca, level=3)
    assert report["tasks"]["vienna_level3"]["map@100"] == pytest.approx(1.0)
