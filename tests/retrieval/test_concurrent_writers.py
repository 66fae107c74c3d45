"""Two writers on one index root (threads, or the server and a CLI run) never lose each other's change."""

import os
import signal
import subprocess
import sys
import threading

import pytest

from logo_similarity.config import ImageSettings
from logo_similarity.datasets import LogoRecord
from logo_similarity.embeddings import ThumbnailEmbedder
from logo_similarity.indexing import BuildRequest, build_index
from logo_similarity.retrieval import SearchIndex
from logo_similarity.retrieval.store.lock import LOCK_NAME, IndexLockedError, index_writer
from logo_similarity.indexing.update import add_items, delete_items
from tests.conftest import draw_gallery

CLI = [sys.executable, "-m", "logo_similarity.cli"]
BLOCKED_FOR = 3.0  # how long a second writer is watched to make sure it waits (it must not finish meanwhile)


@pytest.fixture
def root(tmp_path):
    paths = draw_gallery(tmp_path)
    records = [LogoRecord(p.name, p, p.stem.upper()) for p in paths[:6]]
    built, _ = build_index(BuildRequest(records, image=ImageSettings()), ThumbnailEmbedder())
    built.save(tmp_path / "idx")
    return tmp_path / "idx", paths


def test_a_writer_waits_for_the_one_holding_the_index_and_both_changes_survive(root):
    root, paths = root
    embedder = ThumbnailEmbedder()
    second = threading.Thread(target=add_items, args=(root, [LogoRecord("late", paths[7], "LATE")], embedder,
                                                      ImageSettings()))
    with index_writer(root, "test writer"):
        index = SearchIndex.load(root)
        second.start()
        second.join(BLOCKED_FOR)
        assert second.is_alive(), "the second writer did not wait for the lock"
        index.add([index.next_id()], index.vectors([2]), [{"key": "early", "file": str(paths[6]), "text": "EARLY"}])
        index.save(root)
    second.join(60)
    keys = {m["key"] for m in SearchIndex.load(root).metadata.values()}
    assert {"early", "late"} <= keys and len(keys) == 8


def test_a_cli_delete_waits_for_the_server_side_writer(root):
    """Another process (the CLI) blocks on the lock; the change made meanwhile and its delete both land."""
    root, paths = root
    env = {**os.environ, "LOGO_SIM__LOG_LEVEL": "WARNING"}
    with index_writer(root, "server add"):
        index = SearchIndex.load(root)
        cli = subprocess.Popen([*CLI, "delete", "0", "--index", str(root)], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        with pytest.raises(subprocess.TimeoutExpired):
            cli.wait(BLOCKED_FOR)
        vector = index.vectors([1])
        index.add([index.next_id()], vector, [{"key": "added-meanwhile", "file": "x.png"}])
        index.save(root)
    assert cli.wait(60) == 0, cli.stderr.read()
    after = SearchIndex.load(root)
    keys = {m["key"] for m in after.metadata.values()}
    assert "added-meanwhile" in keys and 0 not in after.metadata and len(after) == 6


def test_a_writer_gives_up_with_who_holds_the_index(root):
    root, _ = root
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from logo_similarity.retrieval.store.lock import index_writer\n"
         f"with index_writer({str(root)!r}, 'a long rebuild'):\n    print('held', flush=True); time.sleep(120)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(IndexLockedError, match=rf"a long rebuild \(pid {holder.pid}"):
            delete_items(root, [0], lock_timeout_s=0.3)
        env = {**os.environ, "LOGO_SIM__INDEX__LOCK_TIMEOUT_S": "0.3"}
        cli = subprocess.run([*CLI, "delete", "0", "--index", str(root)], env=env, capture_output=True, text=True)
        assert cli.returncode == 2 and "a long rebuild" in cli.stderr and "Traceback" not in cli.stderr
        # kill -9 of the holder releases the lock: the next writer goes ahead
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        assert delete_items(root, [0], lock_timeout_s=10).removed == 1
    finally:
        holder.kill()
    assert (root / LOCK_NAME).exists()  # the lock file stays (it is ours); nothing else was touched
