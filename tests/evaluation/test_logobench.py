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
    # the identical gallery image is ignored: the relevant ring is ranked among the other 10 marks only
    ring_rank = brute_force_rank(bench, onnx_embedder, "gallery/star.png", "ring", ignore={"star"})
    assert cs["recall@100"] == 1.0 and cs["map@100"] == pytest.approx(1.0 / ring_rank)
    assert report["latency_ms"]["p50"] > 0 and report["latency_ms"]["p99"] >= report["latency_ms"]["p50"]
    assert report["reranked"] and 0 < report["rerank_ms"]["p50"] <= report["rerank_ms"]["p99"]
    stages = report["timings_ms"]  # the end-to-end latency split per stage, each measured
    assert list(stages) == ["decode", "ocr", "embed", "stage1", "spatial", "text", "fuse"]
    assert all(stages[s]["p50"] > 0 for s in ("decode", "ocr", "embed", "stage1", "spatial", "fuse"))
    assert sum(t["p50"] for t in stages.values()) <= report["latency_ms"]["p99"]
    # a query carries only its image: shapes without words give no name, whatever the gallery calls them
    assert report["query_names_read_by_ocr"] == {"files": 7, "with_name": 0}


def test_stage_one_alone(bench, onnx_embedder, settings):
    report = evaluate_logobench(bench, onnx_embedder, settings, rerank=False)
    assert not report["reranked"] and "rerank_ms" not in report
    assert report["tasks"]["modified_copy"]["recall@1"] >= 5 / 6


def test_metrics_match_a_brute_force_ranking(bench, settings):
    """The thumbnail baseline, stage 1 only: recall@k and mAP equal those of ranking the gallery by hand."""
    from logo_similarity.embeddings import ThumbnailEmbedder

    embedder = ThumbnailEmbedder()
    report = evaluate_logobench(bench, embedder, settings, tasks=["modified_copy"], rerank=False)
    assert set(report["tasks"]) == {"modified_copy"}
    ranks = [brute_force_rank(bench, embedder, f"queries/m{i}.png", kind) for i, kind in enumerate(KINDS[:6])]
    row = report["tasks"]["modified_copy"]
    assert row["recall@1"] == pytest.approx(sum(r == 1 for r in ranks) / 6)
    assert row["recall@10"] == pytest.approx(sum(r <= 10 for r in ranks) / 6)
    assert row["map@100"] == pytest.approx(sum(1.0 / r for r in ranks) / 6)
    assert ranks != [1] * 6  # the baseline misses some: the metrics are checked on a ranking with errors


def brute_force_rank(bench, embedder, query_file, relevant_kind, ignore=()):
    """1-based rank of ``relevant_kind`` among the gallery (minus ``ignore``) by cosine to the query."""
    from logo_similarity.embeddings import embed_images
    from logo_similarity.preprocessing import load_image

    kinds = [k for k in KINDS if k not in ignore]
    gallery = embed_images(embedder, [load_image(bench / "gallery" / f"{k}.png") for k in kinds])
    query = embed_images(embedder, [load_image(bench / query_file)])[0]
    sims = gallery @ query
    return int((sims > sims[kinds.index(relevant_kind)]).sum()) + 1
