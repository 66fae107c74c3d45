"""The app under a real uvicorn on loopback: HTTP, streaming body limit, admission control, hot swap, CLI."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from logo_similarity.api import create_app
from logo_similarity.api.service import SearchService
from logo_similarity.config import load_settings
from logo_similarity.config.settings import ConfigError
from tests.api.conftest import KEY, RunningServer, copy_index
from tests.support.faults import free_port


def test_search_over_http(live_server, query_png):
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        assert http.get("/health").json() == {"status": "ok"}
        r = http.post("/search", files={"image": ("q.png", query_png, "image/png")}, data={"k": "3"})
        assert r.status_code == 200 and r.json()["results"][0]["name"] == "STAR"
        assert http.get("/").headers["content-type"].startswith("text/html")


PART = b'--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n'


def _raw_upload(port: int, headers: bytes, total: int, chunked: bool) -> tuple[bytes, int]:
    """Stream ``total`` body bytes; stop when the server answers. Returns (response head, bytes sent)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(headers)
    sent, piece = 0, b"\0" * 65536
    sock.settimeout(0.001)
    try:
        while sent < total:
            data = PART + piece if sent == 0 else piece  # a valid multipart file part that never ends
            data = data if not chunked else b"%x\r\n" % len(data) + data + b"\r\n"
            sock.sendall(data)
            sent += len(piece)
            try:
                if sock.recv(1, socket.MSG_PEEK):
                    break
            except (BlockingIOError, TimeoutError, socket.timeout):
                pass
    except (BrokenPipeError, ConnectionResetError):
        pass
    sock.settimeout(30)
    try:
        head = sock.recv(4096)
    except ConnectionResetError:
        head = b""
    sock.close()
    return head, sent


def test_upload_over_the_limit_is_refused_while_streaming(live_server):
    limit = 10 * 1024**2
    big = 200 * 1024**2
    head, sent = _raw_upload(live_server.port, (
        b"POST /search HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
        b"Content-Length: %d\r\n\r\n" % big), big, chunked=False)
    assert head.startswith(b"HTTP/1.1 413"), head[:100]
    assert sent < limit  # refused from the announced length, before the body
    head, sent = _raw_upload(live_server.port, (
        b"POST /search HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"), big, chunked=True)
    assert head.startswith(b"HTTP/1.1 413"), head[:100]
    assert sent < 3 * limit  # refused once the limit was passed, not after 200 MB


def test_searches_over_the_in_flight_limit_get_503_with_retry_after(api_settings, service, query_png):
    settings = api_settings.model_copy(update={"api": api_settings.api.model_copy(
        update={"max_in_flight": 2, "search_threads": 1})})
    statuses, lock = [], threading.Lock()
    with RunningServer(create_app(settings, service=service)) as server:
        def one() -> None:
            with httpx.Client(base_url=server.url, timeout=60) as http:
                r = http.post("/search", files={"image": ("q.png", query_png, "image/png")}, data={"k": "5"})
                with lock:
                    statuses.append((r.status_code, r.headers.get("retry-after"), r.json().get("reason")))
        threads = [threading.Thread(target=one) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        metrics = httpx.get(server.url + "/metrics").text
    busy = [s for s in statuses if s[0] == 503]
    assert {s[0] for s in statuses} <= {200, 503}
    assert busy and all(s[1] == "1" and s[2] == "busy" for s in busy)
    assert len(statuses) - len(busy) >= 2
    assert f"logo_sim_rejected_busy_total {float(len(busy))}" in metrics


def test_hot_swap_during_load_fails_no_request(api_settings, built_index, tmp_path, query_png):
    """Searches run without pause while a rebuild and an add each switch the live index."""
    svc = SearchService(api_settings, copy_index(built_index, tmp_path))
    svc.load()
    auth = {"X-API-Key": KEY}
    results, stop = [], threading.Event()
    with RunningServer(create_app(api_settings, service=svc)) as server:
        def client_loop() -> None:
            with httpx.Client(base_url=server.url, timeout=60) as http:
                while not stop.is_set():
                    r = http.post("/search", files={"image": ("q.png", query_png, "image/png")}, data={"k": "3"})
                    body = r.json()
                    results.append((r.status_code, body.get("index_version"),
                                    body["results"][0]["name"] if r.status_code == 200 else body))
        threads = [threading.Thread(target=client_loop) for _ in range(2)]
        for t in threads:
            t.start()
        def searched_on(version: str, n: int = 3) -> None:
            """Wait until the clients have had ``n`` answers from ``version`` (not for a fixed time)."""
            deadline = time.monotonic() + 60
            while sum(r[1] == version for r in list(results)) < n:
                assert time.monotonic() < deadline and all(t.is_alive() for t in threads), results[-3:]
                time.sleep(0.02)

        with httpx.Client(base_url=server.url, timeout=120) as http:
            searched_on(svc.live.version)
            job = http.post("/index/rebuild", headers=auth).json()
            while job["state"] not in ("completed", "failed"):
                time.sleep(0.1)
                job = http.get(f"/jobs/{job['id']}").json()
            assert job["state"] == "completed", job
            searched_on(job["result"]["version"])
            added = http.post("/index/items", headers=auth, data={"name": "NEW"},
                              files={"image": ("n.png", query_png, "image/png")})
            assert added.status_code == 201
            searched_on(added.json()["index_version"])
        stop.set()
        for t in threads:
            t.join()
    failed = [r for r in results if r[0] != 200]
    versions = {r[1] for r in results}
    assert not failed, failed[:3]
    assert len(versions) == 3, versions  # before, after the rebuild, after the add
    assert {r[2] for r in results} <= {"STAR", "NEW"}


def test_refuses_to_start_without_a_strong_key(model_cache, service):
    base = {"model": {"cache_dir": str(model_cache)}}
    for api in ({}, {"api_key": "changeme"}, {"api_key": "short"}):
        with pytest.raises(ConfigError, match="refusing to start"):
            create_app(load_settings(overrides={**base, "api": api}, environ={}), service=service)
    dev = load_settings(overrides={**base, "api": {"dev_mode": True}}, environ={})
    assert create_app(dev, service=service) is not None


def test_read_endpoints_can_require_the_key(model_cache, service, query_png):
    from fastapi.testclient import TestClient

    settings = load_settings(overrides={"model": {"cache_dir": str(model_cache)},
                                        "api": {"api_key": KEY, "read_requires_key": True}}, environ={})
    with TestClient(create_app(settings, service=service)) as client:
        files = {"image": ("q.png", query_png, "image/png")}
        assert client.post("/search", files=files).status_code == 401
        assert client.post("/search", files=files, headers={"X-API-Key": KEY}).status_code == 200
        assert client.get("/health").status_code == 200  # liveness stays open for probes


def test_logo_sim_serve_cli(built_index, model_cache, query_png, tmp_path):
    env = {**os.environ, "LOGO_SIM__MODEL__CACHE_DIR": str(model_cache), "LOGO_SIM__API__API_KEY": KEY}
    refused = subprocess.run([sys.executable, "-m", "logo_similarity.cli", "serve", "--index", str(built_index)],
                             env={**env, "LOGO_SIM__API__API_KEY": ""}, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "refusing to start" in refused.stderr and "Traceback" not in refused.stderr
    port = free_port()
    proc = subprocess.Popen([sys.executable, "scripts/07_serve.py", "--index", str(built_index), "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.2)
        r = httpx.post(f"http://127.0.0.1:{port}/search", files={"image": ("q.png", query_png, "image/png")})
        assert r.status_code == 200 and r.json()["results"][0]["name"] == "STAR"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
