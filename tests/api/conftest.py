"""API fixtures: a real index of the tiny gallery, a loaded service, TestClients, a real uvicorn server."""

from __future__ import annotations

import io
import secrets
import shutil
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from logo_similarity.api import create_app
from logo_similarity.api.service import SearchService
from logo_similarity.config import load_settings
from logo_similarity.datasets import read_dataset
from logo_similarity.indexing import BuildRequest, build_index, stage2_data
from tests.conftest import COLOURS, draw_logo
from tests.support.faults import free_port

REPO_ARTIFACTS = Path(__file__).resolve().parents[2] / "runs" / "test-artifacts"  # screenshots to look at
KEY = secrets.token_urlsafe(24)  # made per test run: no key lives in the repository


def png_bytes(image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="session")
def api_settings(model_cache):
    return load_settings(overrides={"model": {"cache_dir": str(model_cache)}, "api": {"api_key": KEY}}, environ={})


@pytest.fixture(scope="session")
def built_index(tiny_gallery, default_embedder, settings, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("api-index") / "index"
    request = BuildRequest(read_dataset(tiny_gallery / "metadata.jsonl"), image=settings.image,
                           stage2=stage2_data(default_embedder, settings))
    index, report = build_index(request, default_embedder)
    assert report.items == 12
    index.save(root)
    return root


def copy_index(built_index: Path, dest: Path) -> Path:
    target = dest / "index"
    shutil.copytree(built_index, target, symlinks=True)
    return target


@pytest.fixture(scope="session")
def service(api_settings, built_index) -> SearchService:
    svc = SearchService(api_settings, built_index)
    svc.load()
    return svc


@pytest.fixture(scope="session")
def client(api_settings, service):
    with TestClient(create_app(api_settings, service=service)) as c:
        yield c


@pytest.fixture
def writable_client(api_settings, built_index, tmp_path):
    """A client over a private copy of the index, for tests that add, delete or rebuild."""
    svc = SearchService(api_settings, copy_index(built_index, tmp_path))
    svc.load()
    with TestClient(create_app(api_settings, service=svc)) as c:
        yield c


@pytest.fixture
def query_png() -> bytes:
    """A recoloured star: its nearest indexed logo is the star."""
    return png_bytes(draw_logo("star", COLOURS[3], side=180))


class RunningServer:
    def __init__(self, app) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> RunningServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(api_settings, service):
    """A real uvicorn on a free loopback port, serving the session's (read-only) index."""
    with RunningServer(create_app(api_settings, service=service)) as server:
        yield server
