"""POST /search:batch: each image gets what POST /search gives it alone; a bad image costs only itself."""

from logo_similarity.search import Query, run_queries, run_query
from logo_similarity.search.cache import QueryCache
from logo_similarity.search.query import batch_parts, image_digests
from tests.api.conftest import png_bytes
from tests.conftest import COLOURS, KINDS, draw_logo


def _ranked(body) -> list[tuple[int, float]]:
    return [(x["id"], round(x["score"], 6)) for x in body["results"]]


def test_a_batch_answers_each_image_as_a_search_alone(client, service):
    pngs = [png_bytes(draw_logo(kind, COLOURS[(i + 1) % len(COLOURS)], side=150 + 7 * i))
            for i, kind in enumerate(KINDS[:5])]
    cache, size = service.live.cache, service.live.cache.size
    cache.size = 0  # every image computed in the batch, none taken from earlier searches
    try:
        files = [("images", (f"q{i}.png", png, "image/png")) for i, png in enumerate(pngs)]
        files.insert(2, ("images", ("broken.png", b"\x89PNG\r\n\x1a\n not a png", "image/png")))
        r = client.post("/search:batch", files=files, data={"k": "6", "year_from": "2001"})
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        assert [item["position"] for item in items] == list(range(6))
        assert items[2]["filename"] == "broken.png" and items[2]["search"] is None
        assert items[2]["error"]["reason"] == "corrupt"
        alone = [client.post("/search", files={"image": ("q.png", png, "image/png")},
                             data={"k": "6", "year_from": "2001"}).json() for png in pngs]
        batched = [item["search"] for item in items if item["search"] is not None]
        assert [_ranked(b) for b in batched] == [_ranked(a) for a in alone]
        assert all(b["reranked"] and b["query_text_source"] == a["query_text_source"] for a, b in zip(alone, batched))
    finally:
        cache.size = size


def test_a_batch_is_bounded(client):
    png = png_bytes(draw_logo("star", COLOURS[0]))
    r = client.post("/search:batch", files=[("images", (f"{i}.png", png, "image/png")) for i in range(65)])
    assert r.status_code == 422 and r.json()["reason"] == "too_many_images"
    assert client.post("/search:batch", data={"k": "3"}).status_code == 422  # no images: a reason, not a 500


def test_run_queries_mixes_image_name_and_stored_queries(service, default_embedder, api_settings):
    live = service.live
    image = draw_logo("target", COLOURS[3])
    queries = [Query(image=image, k=5), Query(text="STAR", k=5), Query(image=image, k=5, rerank=False),
               Query(vector=live.index.vectors([2])[0], text="CROSS", k=5)]
    together = run_queries(live.index, default_embedder, queries, api_settings)
    for query, outcome in zip(queries, together):
        alone = run_query(live.index, default_embedder, query, api_settings)
        assert [(r.id, round(r.score, 6)) for r in outcome.results] == [(r.id, round(r.score, 6)) for r in alone.results]
        assert outcome.reranked == alone.reranked


def test_a_batch_split_over_threads_answers_in_order_as_one_thread(service, default_embedder, api_settings):
    """search.batch_workers splits a batch into parts run side by side: each query keeps its own answer and
    place, whatever the split (parts of unequal size included)."""
    live = service.live
    queries = [Query(image=draw_logo(kind, COLOURS[i % len(COLOURS)]), k=5)
               for i, kind in enumerate(("target", "star", "cross", "ring", "target", "star", "cross"))]
    answers = {}
    for workers in (1, 2, 3):
        settings = api_settings.model_copy(update={"search": api_settings.search.model_copy(
            update={"batch_workers": workers})})
        outcomes = run_queries(live.index, default_embedder, queries, settings)
        answers[workers] = [[(r.id, round(r.score, 6)) for r in o.results] for o in outcomes]
    assert answers[1] == answers[2] == answers[3]
    assert len({tuple(a) for a in answers[1]}) > 2  # the queries differ, so a shuffled order would show


def test_a_batch_computes_an_image_it_repeats_once_and_answers_each_query(service, default_embedder, api_settings):
    """With a cache, the queries of one image go to one part, computed once (the repeats are the cache's hits),
    and the parts hold equal numbers of distinct images; every query keeps its own answer and place."""
    live = service.live
    images = {kind: draw_logo(kind, COLOURS[i]) for i, kind in enumerate(("target", "star", "cross", "ring"))}
    order = ("target", "star", "target", "cross", "target", "ring", "star")  # 3 repeats, not side by side
    queries = [Query(image=images[kind], k=5) for kind in order]
    assert batch_parts(queries, 2, image_digests(queries)) == [[0, 1, 2, 4, 6], [3, 5]]  # 2 distinct images a part
    assert batch_parts(queries, 2, None) == [[0, 1, 2, 3], [4, 5, 6]]
    plain = run_queries(live.index, default_embedder, queries, api_settings)  # no cache: each computed
    for workers in (1, 2, 3):
        settings = api_settings.model_copy(update={"search": api_settings.search.model_copy(
            update={"batch_workers": workers})})
        cache = QueryCache(16)
        outcomes = run_queries(live.index, default_embedder, queries, settings, cache)
        assert cache.hits == 3 and len(cache) == 4
        assert [[(r.id, round(r.score, 6)) for r in o.results] for o in outcomes] == \
            [[(r.id, round(r.score, 6)) for r in o.results] for o in plain]
