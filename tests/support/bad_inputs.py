"""A catalogue of hostile and malformed requests, with the 4xx each must get.

Used by the test suite (every case through FastAPI's TestClient) and by ``scripts/bench/bench_api.py`` (every
case against a real uvicorn). Cases are plain request descriptions that any httpx-style client can send.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageDraw


@dataclass(frozen=True)
class BadRequest:
    kind: str
    variant: str
    method: str
    path: str
    expect: tuple[int, ...]
    request: dict[str, Any] = field(default_factory=dict)  # files / data / content / headers / params

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.variant}"


def _encode(image: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **kw)
    return buf.getvalue()


def sample_logo(side: int = 160) -> Image.Image:
    image = Image.new("RGB", (side, side), "white")
    ImageDraw.Draw(image).ellipse((side * 0.2, side * 0.2, side * 0.8, side * 0.8), fill=(200, 40, 40))
    return image


def _upload(data: bytes, name: str = "logo.png", mime: str = "image/png", **fields) -> dict[str, Any]:
    return {"files": {"image": (name, data, mime)}, "data": {k: str(v) for k, v in fields.items()}}


def bad_requests(api_key: str, upload_limit: int) -> list[BadRequest]:
    """Every kind of bad input the service must refuse with a 4xx (and a reason), several variants each."""
    png = _encode(sample_logo(), "PNG")
    jpeg = _encode(sample_logo(), "JPEG", quality=90)
    rng = random.Random(0)
    cases: list[BadRequest] = []

    def add(kind: str, variant: str, method: str, path: str, expect: tuple[int, ...], **request) -> None:
        cases.append(BadRequest(kind, variant, method, path, expect, request))

    def search(kind: str, variant: str, expect: tuple[int, ...], **request) -> None:
        add(kind, variant, "POST", "/search", expect, **request)

    search("missing_query", "only_k", (422,), files={"k": (None, "5")})
    search("missing_query", "blank_text", (422,), files={"text": (None, "   ")})
    search("empty_file", "named", (422,), **_upload(b""))
    search("empty_file", "named_jpeg", (422,), **_upload(b"", "a.jpg", "image/jpeg"))
    search("not_an_image", "text", (415, 422), **_upload(b"hello, this is not a logo\n" * 20, "a.png"))
    search("not_an_image", "random_bytes", (415, 422), **_upload(rng.randbytes(4096), "a.png"))
    search("not_an_image", "html", (415, 422), **_upload(b"<html><body>logo</body></html>", "a.png", "text/html"))
    for cut in (0.3, 0.6, 0.9):
        search("truncated_png", f"{int(cut * 100)}pct", (422,), **_upload(png[: int(len(png) * cut)]))
        search("truncated_jpeg", f"{int(cut * 100)}pct", (422,), **_upload(jpeg[: int(len(jpeg) * cut)], "a.jpg", "image/jpeg"))
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'
    search("unsupported_format", "svg", (415,), **_upload(svg, "a.svg", "image/svg+xml"))
    search("unsupported_format", "pdf", (415,), **_upload(b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF", "a.pdf", "application/pdf"))
    search("unsupported_format", "eps", (415, 422), **_upload(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", "a.eps"))
    search("decompression_bomb", "png_8000x8000", (422,), **_upload(_encode(Image.new("1", (8000, 8000)), "PNG")))
    search("decompression_bomb", "gif_8000x8000", (422,), **_upload(_encode(Image.new("L", (8000, 8000)), "GIF"), "a.gif", "image/gif"))
    search("tiny_image", "1x1", (422,), **_upload(_encode(Image.new("RGB", (1, 1)), "PNG")))
    search("tiny_image", "4x4", (422,), **_upload(_encode(Image.new("RGB", (4, 4)), "PNG")))
    search("extreme_shape", "20000x2", (422,), **_upload(_encode(Image.new("RGB", (20000, 2)), "PNG")))
    big = rng.randbytes(upload_limit + 1024)
    search("too_large", "content_length", (413,), **_upload(big))
    part = b'--xyz\r\nContent-Disposition: form-data; name="image"; filename="big.png"\r\nContent-Type: image/png\r\n\r\n'
    search("too_large", "chunked", (413,), chunks=[part] + [big[i:i + 65536] for i in range(0, len(big), 65536)],
           headers={"content-type": "multipart/form-data; boundary=xyz"})
    for k in ("0", "-1", "1001", "abc", "1.5"):
        search("bad_k", k, (422,), **_upload(png, k=k))
    for box in ("1,2,3", "a,b,c,d", "100,100,50,50", "0,0,9999,9999", "-5,0,50,50", "0,0,4,4"):
        search("bad_box", box, (422,), **_upload(png, box=box))
    for vienna in ("abc", "27.05.01.01.01", "270.5"):
        search("bad_filter", f"vienna_{vienna}", (422,), **_upload(png, vienna=vienna))
    search("bad_filter", "year_text", (422,), **_upload(png, year_from="last year"))
    search("bad_filter", "year_range_inverted", (422,), **_upload(png, year_from=2020, year_to=2000))
    search("bad_filter", "rerank_not_bool", (422,), **_upload(png, rerank="perhaps"))
    search("bad_text", "too_long", (422,), files={"text": (None, "A" * 201)})
    search("bad_text", "no_letters", (422,), files={"text": (None, "!!! ---")})
    add("unknown_id", "item", "GET", "/items/99999999", (404,))
    add("unknown_id", "item_image", "GET", "/items/99999999/image", (404,))
    add("unknown_id", "item_not_int", "GET", "/items/star", (422,))
    add("unknown_id", "search_by_id", "POST", "/search/by-id/99999999", (404,))
    add("unknown_id", "search_by_negative_id", "POST", "/search/by-id/-1", (404,))
    add("unknown_id", "job", "GET", "/jobs/no-such-job", (404,))
    add("unknown_id", "delete", "DELETE", "/index/items/99999999", (404,), headers={"X-API-Key": api_key})
    add("bad_parameter", "by_id_k", "POST", "/search/by-id/0", (422,), params={"k": "0"})
    add("bad_parameter", "by_id_vienna", "POST", "/search/by-id/0", (422,), params={"vienna": "x"})
    search("wrong_content_type", "json", (415,), json={"text": "KODAK"})
    search("wrong_content_type", "text_plain", (415,), content=b"text=KODAK", headers={"content-type": "text/plain"})
    search("wrong_content_type", "none", (415,), content=b"text=KODAK")
    search("malformed_multipart", "no_boundary", (400, 422), content=b"--x\r\n\r\n",
           headers={"content-type": "multipart/form-data"})
    search("malformed_multipart", "garbage", (400, 422), content=rng.randbytes(2048),
           headers={"content-type": "multipart/form-data; boundary=abc"})
    search("malformed_multipart", "unterminated", (400, 422),
           content=b'--abc\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
                   b"Content-Type: image/png\r\n\r\n" + png[:100],
           headers={"content-type": "multipart/form-data; boundary=abc"})
    add("method", "get_search", "GET", "/search", (405,))
    add("auth", "add_without_key", "POST", "/index/items", (401,), **_upload(png))
    add("auth", "add_wrong_key", "POST", "/index/items", (401,), headers={"X-API-Key": "wrong" * 8}, **_upload(png))
    add("auth", "delete_without_key", "DELETE", "/index/items/0", (401,))
    add("auth", "rebuild_wrong_key", "POST", "/index/rebuild", (401,), headers={"X-API-Key": "x"})
    add("bad_item", "corrupt_image", "POST", "/index/items", (422,), headers={"X-API-Key": api_key},
        **_upload(png[:200]))
    add("bad_item", "bad_vienna_code", "POST", "/index/items", (422,), headers={"X-API-Key": api_key},
        **_upload(png, vienna_codes="27.x5"))
    add("bad_item", "no_image", "POST", "/index/items", (422,), headers={"X-API-Key": api_key},
        files={"name": (None, "ACME")})
    return cases


def send(client, case: BadRequest):
    """Send ``case`` with an httpx-style client (``httpx.Client`` or FastAPI's TestClient)."""
    request = dict(case.request)
    chunks = request.pop("chunks", None)
    if chunks is not None:  # a fresh generator each time: no Content-Length, the body streams in pieces
        request["content"] = (c for c in chunks)
    return client.request(case.method, case.path, **request)
