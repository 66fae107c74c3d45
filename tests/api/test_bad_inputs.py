"""Every kind of bad input gets a 4xx with a reason, never a 500, and changes nothing."""

from __future__ import annotations

import pytest

from tests.support.bad_inputs import bad_requests, send
from tests.api.conftest import KEY

LIMIT = 10 * 1024**2
CASES = bad_requests(KEY, LIMIT)


def test_the_catalogue_covers_every_kind():
    kinds = {c.kind for c in CASES}
    assert len(CASES) >= 40
    assert {"missing_query", "empty_file", "not_an_image", "truncated_png", "truncated_jpeg", "unsupported_format",
            "decompression_bomb", "tiny_image", "too_large", "bad_k", "bad_box", "bad_filter", "unknown_id",
            "wrong_content_type", "malformed_multipart", "auth"} <= kinds


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_gets_a_4xx_with_a_reason(client, case):
    response = send(client, case)
    assert response.status_code in case.expect, (response.status_code, response.text[:300])
    body = response.json()
    assert body["reason"] and body["detail"], body
    assert "Traceback" not in response.text


def test_bad_inputs_change_nothing(client, service):
    before = (service.live.version, len(service.live.index))
    for case in CASES:
        if case.method != "GET":
            send(client, case)
    assert (service.live.version, len(service.live.index)) == before


def test_image_errors_name_what_is_wrong(client):
    by_name = {c.name: c for c in CASES}
    assert send(client, by_name["decompression_bomb:png_8000x8000"]).json()["reason"] == "decompression_bomb"
    assert send(client, by_name["truncated_png:60pct"]).json()["reason"] == "corrupt"
    assert send(client, by_name["unsupported_format:svg"]).json()["reason"] == "unsupported_format"
    assert send(client, by_name["tiny_image:1x1"]).json()["reason"] == "too_small"
    assert send(client, by_name["too_large:content_length"]).json()["reason"] == "too_large"
    assert send(client, by_name["auth:add_without_key"]).json()["reason"] == "missing_api_key"
