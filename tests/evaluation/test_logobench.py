"""evaluate_logobench on a tiny benchmark in LogoBench format, built by the test."""

import json

import pytest

from logo_similarity.datasets.transforms import modified_copy
from logo_similarity.evaluation import evaluate_logobench
from tests.conftest import COLOURS, KINDS, draw_logo


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    (root / "gallery").mkdir()
    (root / "queries").mkdir()
    with open(root / "gallery.jsonl", "w") as g:
        for i, kind in enumerate(KINDS):
            draw_logo(kind, COLOURS[i % 6]).save(root / "gallery" / f"{kind}.png")
            g.write(json.dumps({"id": f"set:{kind}", "file": f"gallery/{kind}.png", "brand": kind, "text": None}) + "\n")
    with open(root / "queries.jsonl", "w") as q:
        for i, kind in enumerate(KINDS[:6]):
            image, steps = modified_copy(draw_logo(kind, COLOURS[i % 6]), seed=i)
            image.save(root / "queries" / f"m{i}.png")
            q.write(json.dumps({"qid": f"m{i}", "file": f"queries/m{i}.png", "task": "modified_copy",
                                "relevant": [f"set:{kind}"], "source": None, "transform": "+".join(steps), "ignore": []}) + "\n")
        # a cross_set-style query that is a byte copy of a gallery image, which must be ignored
        q.write(json.dumps({"qid": "x0", "file": "gallery/star.png", "task": "cross_set",
                            "relevant": ["set:ring"], "source": "set:star", "ignore": ["set:star"]}) + "\n")
    return root


def test_report_shape_and_ignore(bench, onnx_embedder, settings):
    report = evaluate_logobench(bench, onnx_embedder, settings)
    assert set(report["tasks"]) == {"modified_copy", "cross_set"}
    mc = report["tasks"]["modified_copy"]
    assert mc["n"] == 6
    assert set(mc) == {"n", "recall@1", "recall@10", "recall@100", "map@100"}
    assert mc["recall@1"] >= 5 / 6
    cs = report["tasks"]["cross_set"]
    # the identical gallery image is removed, so recall@1 can only come from the real relevant item
    assert cs["recall@100"] == 1.0 and cs["map@100"] <= 1.0
    assert report["latency_ms"]["p50"] > 0 and report["latency_ms"]["p99"] >= report["latency_ms"]["p50"]
    assert report["reranked"] and 0 < report["rerank_ms"]["p50"] <= report["rerank_ms"]["p99"]
    # a query carries only its image: shapes without words give no name, whatever the gallery calls them
    assert report["query_names_read_by_ocr"] == {"files": 7, "with_name": 0}


def test_stage_one_alone(bench, onnx_embedder, settings):
    report = evaluate_logobench(bench, onnx_embedder, settings, rerank=False)
    assert not report["reranked"] and "rerank_ms" not in report
    assert report["tasks"]["modified_copy"]["recall@1"] >= 5 / 6


def test_thumbnail_baseline_runs(bench, settings):
    from logo_similarity.embeddings import ThumbnailEmbedder

    report = evaluate_logobench(bench, ThumbnailEmbedder(), settings, tasks=["modified_copy"])
    assert set(report["tasks"]) == {"modified_copy"}
