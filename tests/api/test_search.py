"""Search endpoints through FastAPI's TestClient, on a real index of rendered logos."""

from __future__ import annotations

import pytest

from tests.api.conftest import png_bytes
from tests.conftest import COLOURS, draw_logo


def test_search_by_image_finds_the_same_shape(client, query_png):
    r = client.post("/search", files={"image": ("q.png", query_png, "image/png")}, data={"k": "5"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["results"]) == 5 and body["k"] == 5
    top = body["results"][0]
    assert top["name"] == "STAR" and top["rank"] == 1
    assert top["components"]["composite"] == top["score"] and top["components"]["text"] is None  # no words in it
    assert body["reranked"] and top["components"]["spatial"] is not None
    assert top["image_url"] == f"/items/{top['id']}/image"
    # (preprocess and embed too, unless an earlier test searched this image: the query cache; test_query_cache.py)
    assert {"read", "decode", "cache", "search", "total"} <= set(body["timings_ms"])
    scores = [x["score"] for x in body["results"]]
    assert scores == sorted(scores, reverse=True)


def test_search_with_name_scores_every_result(client, query_png):
    r = client.post("/search", files={"image": ("q.png", query_png, "image/png")}, data={"text": "STARR", "k": "3"})
    results = r.json()["results"]
    assert results[0]["name"] == "STAR" and results[0]["components"]["text"] > 0.8
    assert all(x["components"]["text"] is not None for x in results)


def test_name_only_search_finds_sound_alikes(client):
    r = client.post("/search", data={"text": "KROSS", "k": "3"})
    assert r.status_code == 200, r.text
    top = r.json()["results"][0]
    assert top["name"] == "CROSS" and top["components"]["image"] is None and top["score"] == top["components"]["text"]


def test_rerank_combines_look_and_sound(client, query_png, api_settings):
    """A query that looks like the star but is named like the cross: re-ranking brings CROSS up."""
    files = {"image": ("q.png", query_png, "image/png")}
    plain = client.post("/search", files=files, data={"text": "CROSS", "k": "12", "rerank": "false"}).json()
    mixed = client.post("/search", files=files, data={"text": "CROSS", "k": "12"}).json()
    assert mixed["reranked"] and not plain["reranked"]  # re-ranking is on by default
    rank = {x["name"]: x["rank"] for x in plain["results"]}
    rank_mixed = {x["name"]: x["rank"] for x in mixed["results"]}
    assert rank_mixed["CROSS"] < rank["CROSS"]
    weights, neutral = api_settings.rerank.weights, api_settings.rerank.neutral
    either = api_settings.rerank.either
    for x in mixed["results"]:
        c = x["components"]
        present = {n: v for n, v in c.items() if v is not None and n != "composite"}
        # The served rule written out here by hand: the weighted sum blended with its strongest term.
        terms = [weights[n] * (v - neutral.get(n, 0.0)) for n, v in present.items()]
        expected = (1 - either) * sum(terms) + either * max(terms)
        assert abs(c["composite"] - expected) < 1e-6 and x["score"] == c["composite"]
        assert x["explanation"]["text_source"]["query"] == "given"
    assert mixed["query_text"] == "CROSS" and mixed["query_text_source"] == "given"
    assert any(x["components"]["spatial"] is not None and x["explanation"]["spatial_pairs"] for x in mixed["results"])


def test_filters_by_vienna_prefix_and_year(client, query_png):
    files = {"image": ("q.png", query_png, "image/png")}
    r = client.post("/search", files=files, data={"vienna": "26.01", "k": "20"}).json()
    assert r["results"] and all(any(c.startswith("26.01.") for c in x["vienna_codes"]) for x in r["results"])
    r = client.post("/search", files=files, data={"year_from": "2003", "year_to": "2005", "k": "20"}).json()
    assert sorted(x["year"] for x in r["results"]) == [2003, 2004, 2005]


def test_box_crops_the_query(client):
    """A star beside a ring: the box around the ring makes the ring the best match."""
    from PIL import Image

    canvas = Image.new("RGB", (400, 200), "white")
    canvas.paste(draw_logo("star", COLOURS[0]), (0, 0))
    canvas.paste(draw_logo("ring", COLOURS[1]), (200, 0))
    files = {"image": ("pair.png", png_bytes(canvas), "image/png")}
    left = client.post("/search", files=files, data={"box": "0,0,200,200", "k": "1"}).json()["results"][0]
    right = client.post("/search", files=files, data={"box": "200,0,400,200", "k": "1"}).json()["results"][0]
    assert (left["name"], right["name"]) == ("STAR", "RING")


def test_search_by_id_returns_the_item_first(client):
    r = client.post("/search/by-id/3?k=4")
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert results[0]["id"] == 3 and results[0]["score"] > 0.999 and len(results) == 4
    assert results[0]["components"]["text"] == 1.0  # the item's own name is the text query


def test_items_and_their_images(client, tiny_gallery):
    item = client.get("/items/1").json()
    assert item["name"] == "STAR" and item["vienna_codes"] == ["26.01.03"] and item["year"] == 2001
    image = client.get(item["image_url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content == (tiny_gallery / "images" / "star.png").read_bytes()


def test_health_ready_stats_metrics(client, query_png):
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready").json()
    assert ready["ready"] is True and ready["index_version"]
    stats = client.get("/stats").json()
    assert stats["items"] == 12 and stats["index_type"] == "Flat" and stats["model"]["arch"]
    assert stats["preprocessing"]["color_mode"] == "gray"
    client.post("/search", files={"image": ("q.png", query_png, "image/png")})
    text = client.get("/metrics").text
    assert 'logo_sim_requests_total{method="POST",route="/search",status="200"}' in text
    assert "logo_sim_search_stage_seconds_bucket" in text and "logo_sim_index_items 12.0" in text


def test_openapi_documents_the_endpoints(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/search", "/search/by-id/{item_id}", "/items/{item_id}", "/items/{item_id}/image", "/health",
                 "/ready", "/stats", "/metrics", "/index/items", "/index/items/{item_id}", "/index/rebuild",
                 "/jobs/{job_id}"):
        assert path in paths, path


def test_search_page_is_served(client):
    page = client.get("/")
    assert page.status_code == 200 and 'id="drop"' in page.text
    assert client.get("/static/app.js").status_code == 200


def test_not_ready_until_an_index_is_loaded(api_settings, tmp_path):
    from fastapi.testclient import TestClient

    from logo_similarity.api import create_app

    with TestClient(create_app(api_settings, index_dir=tmp_path / "missing")) as client:
        import time

        deadline = time.monotonic() + 30
        while (ready := client.get("/ready")).json()["error"] is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.status_code == 503 and "no index" in ready.json()["error"] and ready.headers["retry-after"]
        assert client.get("/health").status_code == 200
        r = client.post("/search", data={"text": "ACME"})
        assert r.status_code == 503 and r.json()["reason"] == "index_not_ready"


def test_api_and_cli_run_the_same_query_path(client, built_index, query_png, model_cache, tmp_path):
    """The same image and name through the CLI and the API: the same marks, ranks, components and scores."""
    import json
    import os

    from tests.test_cli import logo_sim

    (tmp_path / "q.png").write_bytes(query_png)
    env = {**os.environ, "LOGO_SIM__MODEL__CACHE_DIR": str(model_cache), "LOGO_SIM__LOG_LEVEL": "WARNING"}
    out = tmp_path / "cli.json"
    done = logo_sim(["search", tmp_path / "q.png", "--text", "CROSS", "--index", built_index, "--k", 8, "--json", out], env)
    assert done.returncode == 0, done.stderr
    cli = json.loads(out.read_text())
    api = client.post("/search", files={"image": ("q.png", query_png, "image/png")},
                      data={"text": "CROSS", "k": "8"}).json()["results"]
    assert [r["id"] for r in cli] == [r["id"] for r in api]
    for c, a in zip(cli, api):
        assert c["score"] == pytest.approx(a["score"], abs=1e-6)
        assert {n: v for n, v in c["components"].items() if v is not None} == pytest.approx(
            {n: v for n, v in a["components"].items() if v is not None}, abs=1e-6)


def test_name_read_from_the_query_logo_is_marked_as_ocr(client):
    """No name given: the words in the query logo are read and compared with the marks' names."""
    from logo_similarity.synthetic import render_text_logo

    logo = render_text_logo("STAR", seed=3, shape=False, size=48)
    r = client.post("/search", files={"image": ("w.png", png_bytes(logo), "image/png")}, data={"k": "12"}).json()
    assert r["query_text_source"] == "ocr" and r["query_text"].upper() == "STAR"
    star = next(x for x in r["results"] if x["name"] == "STAR")
    assert star["components"]["text"] > 0.9
    assert star["explanation"]["text_source"] == {"query": "ocr", "candidate": "name", "query_text": r["query_text"],
                                                  "candidate_text": "STAR"}
    plain = client.post("/search", files={"image": ("w.png", png_bytes(logo), "image/png")},
                        data={"k": "12", "rerank": "false"}).json()
    assert plain["query_text"] is None and all(x["components"]["text"] is None for x in plain["results"])


def test_vienna_codes_of_the_query_are_a_component(client, query_png):
    files = {"image": ("q.png", query_png, "image/png")}
    r = client.post("/search", files=files, data={"k": "12", "codes": "26.01.03"}).json()
    by_code = {x["vienna_codes"][0]: x["components"]["vienna"] for x in r["results"]}
    assert by_code["26.01.03"] == 1.0 and by_code["26.03.01"] == pytest.approx(1 / 3) and by_code["01.01.01"] == 0.0
    bad = client.post("/search", files=files, data={"codes": "27.x5"})
    assert bad.status_code == 422 and bad.json()["reason"] == "invalid_vienna_code"
