"""The fusion is fitted by the function that serves it: re-fusing the components the query path collected, with
the shipped weights, gives exactly the order the query path served."""

import json

import numpy as np
import pytest

from logo_similarity.datasets.transforms import modified_copy
from logo_similarity.evaluation.logobench import build_gallery, load_benchmark
from logo_similarity.evaluation.rerank_eval import collect, rankings
from logo_similarity.synthetic import render_text_logo
from tests.conftest import COLOURS, KINDS, draw_logo

NAMES = ["KODAK", "ZENTRA", "MOVELLO", "BRISTAN", "TALVO", "QUORIX"]
SOUND_ALIKES = ["KODAC", "ZENTRAH", "MOVELO", "BRYSTAN"]  # read by OCR from the queries: a text component


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("fusion-bench")
    (root / "gallery").mkdir()
    (root / "queries").mkdir()
    gallery, queries = [], []
    for i, kind in enumerate(KINDS):
        draw_logo(kind, COLOURS[i % 6]).save(root / "gallery" / f"{kind}.png")
        gallery.append({"id": f"set:{kind}", "file": f"gallery/{kind}.png", "text": None})
    for i, name in enumerate(NAMES):  # word marks: a small shape over the name
        render_text_logo(name, seed=i).save(root / "gallery" / f"{name}.png")
        gallery.append({"id": f"set:{name}", "file": f"gallery/{name}.png", "text": name})
    for i, kind in enumerate(KINDS[:4]):
        image, _ = modified_copy(draw_logo(kind, COLOURS[i % 6]), seed=i)
        image.save(root / "queries" / f"m{i}.png")
        queries.append({"qid": f"m{i}", "file": f"queries/m{i}.png", "task": "modified_copy",
                        "relevant": [f"set:{kind}"], "ignore": []})
    for i, (name, alike) in enumerate(zip(NAMES, SOUND_ALIKES)):  # the name respelt under another shape and font
        render_text_logo(alike, seed=100 + i, font="DejaVuSerif-Bold.ttf").save(root / "queries" / f"w{i}.png")
        queries.append({"qid": f"w{i}", "file": f"queries/w{i}.png", "task": "word",
                        "relevant": [f"set:{name}"], "ignore": []})
    (root / "gallery.jsonl").write_text("".join(json.dumps(g) + "\n" for g in gallery))
    (root / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    return root


def test_refusing_collected_components_with_the_shipped_weights_is_the_served_order(bench, default_embedder,
                                                                                   settings):
    index, _ = build_gallery(bench, default_embedder, settings, rerank=True)
    _, rows = load_benchmark(bench)
    key_to_id = {meta["key"]: item_id for item_id, meta in index.metadata.items()}
    collected = collect(index, default_embedder, settings, bench, rows, key_to_id)
    depth = len(index)
    served = rankings(collected, depth)
    w, n, either = settings.rerank.weights, settings.rerank.neutral, settings.rerank.either
    assert rankings(collected, depth, w, neutral=n, either=either) == served

    # what makes the check able to fail: every component is in play, and the fusion changes the order
    ocr_named = [q for q in collected.queries if q.text_source == "ocr"]
    assert ocr_named and any(np.isfinite(q.components["text"]).any() for q in ocr_named)
    assert all(np.isfinite(q.components["spatial"]).any() for q in collected.queries)
    assert rankings(collected, depth, {"image": 1.0}) != served
    # and a rule that differs from the served one (here: names read by OCR ignored) gives another order
    assert rankings(collected, depth, {**w, "ocr_text": 0.0}, neutral=n, either=either) != served
