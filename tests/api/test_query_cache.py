"""The query cache: an image searched again (other filters, other k) is not embedded or read again, and gets the
same answer as without the cache; it holds at most its size, per index version."""

from PIL import Image

from logo_similarity.reranking.rerank import QueryFeatures
from logo_similarity.search.cache import QueryCache, image_digest
from tests.api.conftest import png_bytes
from tests.conftest import COLOURS, draw_logo


def _search(client, png: bytes, **data):
    body = client.post("/search", files={"image": ("q.png", png, "image/png")}, data=data).json()
    return [(x["id"], round(x["score"], 9)) for x in body["results"]], body


def test_a_hit_gives_the_same_results_and_skips_the_image_work(client, service):
    png = png_bytes(draw_logo("crescent", COLOURS[2]))  # an image no other test searches
    cache = service.live.cache
    first, body = _search(client, png, k="8")
    assert "cache" in body["timings_ms"] and "embed" in body["timings_ms"]  # a miss: computed, then kept
    hits = cache.hits
    again, body = _search(client, png, k="8")
    assert again == first and cache.hits == hits + 1
    assert "embed" not in body["timings_ms"] and "ocr" not in body["timings_ms"]  # nothing computed again
    # the same features under another filter, and with a name given: as a fresh service would answer
    filtered, _ = _search(client, png, k="8", year_from="2003")
    named, body = _search(client, png, k="8", text="CRESCENT")
    assert body["query_text_source"] == "given" and body["query_text"] == "CRESCENT"
    cache.size, saved = 0, dict(cache._entries)
    cache._entries.clear()
    try:
        assert _search(client, png, k="8", year_from="2003")[0] == filtered
        assert _search(client, png, k="8", text="CRESCENT")[0] == named
    finally:
        cache.size = service.settings.search.query_cache
        cache._entries.update(saved)


def test_the_cache_is_bounded_and_keyed_by_pixels():
    cache = QueryCache(2)
    images = [Image.new("RGB", (8, 8), (i, 0, 0)) for i in range(3)]
    for i, image in enumerate(images):
        cache.put(cache.key(image, True, False), QueryFeatures(name=f"n{i}"))
    assert len(cache) == 2 and cache.get(cache.key(images[0], True, False)) is None  # the oldest went
    assert cache.get(cache.key(images[2], True, False)).name == "n2"
    assert cache.get(cache.key(images[2], False, False)) is None  # re-ranking off: other features
    # the same pixels however they were stored; other pixels, another key
    assert image_digest(images[1].copy()) == image_digest(images[1]) != image_digest(images[2])
    hit = cache.get(cache.key(images[1], True, False))
    hit.name = "changed"
    assert cache.get(cache.key(images[1], True, False)).name == "n1"  # a hit is the caller's copy
    assert len(QueryCache(0)) == 0
    empty = QueryCache(0)
    empty.put(empty.key(images[0], True, False), QueryFeatures())
    assert len(empty) == 0
