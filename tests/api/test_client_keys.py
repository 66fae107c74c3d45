"""Client keys beside the service's key: made by the CLI and shown once, stored hashed, revocable, with a role;
a client key searches and reads, never writes the index (403); a revoked or unknown key gets 401."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from logo_similarity.api import create_app
from logo_similarity.api.keys import KeyStore
from tests.api.conftest import KEY

CLI = [sys.executable, "-m", "logo_similarity.cli"]


@pytest.fixture
def keyed(api_settings, service, tmp_path):
    """An app whose reads need a key too, with a client-key file in tmp_path."""
    api = api_settings.api.model_copy(update={"read_requires_key": True, "keys_file": str(tmp_path / "keys.sqlite")})
    settings = api_settings.model_copy(update={"api": api})
    with TestClient(create_app(settings, service=service)) as client:
        yield client, tmp_path / "keys.sqlite"


def test_keys_from_the_cli_are_shown_once_stored_hashed_and_revocable(tmp_path):
    env = {**os.environ, "LOGO_SIM__API__KEYS_FILE": str(tmp_path / "keys.sqlite"), "LOGO_SIM__LOG_LEVEL": "WARNING"}
    made = subprocess.run([*CLI, "keys", "create", "acme", "--role", "watch"], env=env, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    key = next(word for word in made.stdout.split() if word.startswith("lsk_"))
    assert KeyStore(tmp_path / "keys.sqlite").lookup(key).name == "acme"
    with sqlite3.connect(tmp_path / "keys.sqlite") as db:
        assert key not in repr(db.execute("SELECT * FROM keys").fetchall())  # only its digest is kept
    listed = subprocess.run([*CLI, "keys", "list"], env=env, capture_output=True, text=True)
    assert '"acme"' in listed.stdout and '"watch"' in listed.stdout and key not in listed.stdout
    again = subprocess.run([*CLI, "keys", "create", "acme"], env=env, capture_output=True, text=True)
    assert again.returncode == 2 and "has a key already" in again.stderr and "Traceback" not in again.stderr
    assert subprocess.run([*CLI, "keys", "revoke", "acme"], env=env, capture_output=True).returncode == 0
    assert KeyStore(tmp_path / "keys.sqlite").lookup(key) is None
    bad = subprocess.run([*CLI, "keys", "create", "x y", "--role", "root"], env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "client name" in bad.stderr


def test_a_client_key_searches_but_never_writes_and_a_revoked_one_is_refused(keyed, query_png):
    client, keys_file = keyed
    store = KeyStore(keys_file)
    search_key, watch_key = store.create("reader", "search"), store.create("watcher", "watch")
    upload = {"image": ("q.png", query_png, "image/png")}
    for key in (KEY, search_key, watch_key):
        r = client.post("/search", headers={"X-API-Key": key}, files=upload)
        assert r.status_code == 200, r.text
        assert client.get("/stats", headers={"X-API-Key": key}).status_code == 200
    assert client.post("/search", files=upload).json()["reason"] == "missing_api_key"
    for key in (search_key, watch_key):  # index writes are the service's alone
        r = client.delete("/index/items/1", headers={"X-API-Key": key})
        assert r.status_code == 403 and r.json()["reason"] == "forbidden"
        assert client.post("/index/rebuild", headers={"X-API-Key": key}).status_code == 403
    store.revoke("reader")
    r = client.post("/search", headers={"X-API-Key": search_key}, files=upload)
    assert r.status_code == 401 and r.json()["reason"] == "invalid_api_key"
    assert client.post("/search", headers={"X-API-Key": "lsk_" + "x" * 43}, files=upload).status_code == 401
    assert client.post("/search", headers={"X-API-Key": watch_key}, files=upload).status_code == 200
