"""Classifications over HTTP: Vienna titles (GET /vienna/{code}, and with every result), the Nice filter, and
PATCH /index/items/{id} correcting a mark's fields without re-embedding it."""

import numpy as np
import pytest

from tests.api.conftest import KEY

AUTH = {"X-API-Key": KEY}


def test_vienna_titles(client, query_png):
    r = client.get("/vienna/26.1")
    assert r.status_code == 200
    assert r.json() == {"code": "26.01", "title": "Circles, ellipses",
                        "path": ["Geometrical figures and solids", "Circles, ellipses"]}
    assert client.get("/vienna/31").json()["reason"] == "unknown_code"
    assert client.get("/vienna/27.x").status_code == 422
    results = client.post("/search", files={"image": ("q.png", query_png, "image/png")},
                          data={"k": "12", "codes": "26.01.01"}).json()["results"]
    ring = next(x for x in results if x["vienna_codes"] == ["26.01.03"])
    assert ring["vienna"][0]["title"] == "Circles, ellipses"  # no section titles are shipped: the division's
    assert ring["explanation"]["vienna_shared"] == {"code": "26.01", "title": "Circles, ellipses",
                                                    "path": ["Geometrical figures and solids", "Circles, ellipses"]}


def test_patch_changes_only_what_it_names_and_nice_filters(writable_client, query_png):
    client = writable_client
    service = client.app.state.service
    before = dict(service.live.index.metadata[3])
    vector = service.live.index.vectors(np.array([3]))
    version = service.live.version
    assert client.patch("/index/items/3", json={"nice_classes": [42, 9]}).status_code == 401  # key needed
    r = client.patch("/index/items/3", json={"nice_classes": [42, 9]}, headers=AUTH)
    assert r.status_code == 200 and r.json()["changed"] and r.json()["index_version"] != version
    after = service.live.index.metadata[3]
    assert after["nice_classes"] == [9, 42]
    assert {k: v for k, v in after.items() if k != "nice_classes"} == before  # nothing else changed
    assert np.array_equal(service.live.index.vectors(np.array([3])), vector)
    same = client.patch("/index/items/3", json={"nice_classes": [9, 42]}, headers=AUTH).json()
    assert not same["changed"] and same["index_version"] == r.json()["index_version"]  # no new version

    files = {"image": ("q.png", query_png, "image/png")}
    hits = client.post("/search", files=files, data={"nice": "9", "k": "12"}).json()["results"]
    assert [x["id"] for x in hits] == [3] and hits[0]["nice_classes"] == [9, 42]
    assert client.post("/search/by-id/0?nice=42,3").json()["results"][0]["id"] == 3
    assert client.post("/search", files=files, data={"nice": "46"}).json()["reason"] == "invalid_filter"

    r = client.patch("/index/items/3", json={"name": "Ringo", "year": 1999, "vienna_codes": ["26.1.1"]},
                     headers=AUTH)
    item = client.get("/items/3").json()
    assert (item["name"], item["year"], item["vienna_codes"], item["nice_classes"]) == ("Ringo", 1999, ["26.1.1"], [9, 42])
    by_name = client.post("/search", data={"text": "RINGGO", "k": "1"}).json()["results"][0]
    assert by_name["id"] == 3


@pytest.mark.parametrize("body, status, reason", [
    ({"colour": "red"}, 422, None),  # not an editable field
    ({}, 422, "invalid_edit"),
    ({"nice_classes": [0]}, 422, "invalid_edit"),
    ({"vienna_codes": ["26.06.01"]}, 422, "invalid_edit"),  # no such division
    ({"year": 20000}, 422, None),
])
def test_patch_refuses_bad_edits(writable_client, body, status, reason):
    r = writable_client.patch("/index/items/3", json=body, headers=AUTH)
    assert r.status_code == status, r.text
    assert reason is None or r.json()["reason"] == reason


def test_patch_of_an_unknown_item_is_404(writable_client):
    r = writable_client.patch("/index/items/999", json={"year": 2000}, headers=AUTH)
    assert r.status_code == 404 and r.json()["reason"] == "unknown_id"


def test_the_query_marks_nice_classes_are_a_component(writable_client, query_png):
    """``classes``: the query mark's own Nice classes; a candidate sharing one gets nice 1, one classified
    elsewhere 0, an unclassified one none (no evidence); by id, the item's own classes."""
    client = writable_client
    assert client.patch("/index/items/3", json={"nice_classes": [42, 9]}, headers=AUTH).status_code == 200
    assert client.patch("/index/items/4", json={"nice_classes": [25]}, headers=AUTH).status_code == 200
    files = {"image": ("q.png", query_png, "image/png")}
    r = client.post("/search", files=files, data={"k": "12", "classes": "9, 30", "rerank": "true"}).json()
    nice = {x["id"]: x["components"]["nice"] for x in r["results"]}
    assert nice[3] == 1.0 and nice[4] == 0.0 and all(v is None for i, v in nice.items() if i not in (3, 4))
    plain = client.post("/search", files=files, data={"k": "12", "rerank": "true"}).json()
    assert all(x["components"]["nice"] is None for x in plain["results"])
    by_id = client.post("/search/by-id/4", params={"k": "12", "rerank": "true"}).json()
    assert {x["id"]: x["components"]["nice"] for x in by_id["results"]}[3] == 0.0  # 25 against 9 and 42
    bad = client.post("/search", files=files, data={"classes": "99"})
    assert bad.status_code == 422 and bad.json()["reason"] == "invalid_nice_class"
