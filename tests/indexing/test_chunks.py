import json

import numpy as np
import pytest

from logo_similarity.indexing.chunks import Chunk, ChunkStore, WorkFolderMismatchError


def chunk(rows, dim=4):
    rows = list(rows)
    return Chunk(np.array(rows), np.full((len(rows), dim), rows[0], np.float32), [], [{} for _ in rows])


def test_write_read_and_resume(tmp_path):
    store = ChunkStore(tmp_path, "fp", n_items=10, chunk_size=4)
    assert store.n_chunks == 3 and list(store.rows(2)) == [8, 9]
    assert store.pending() == [0, 1, 2]
    store.write(0, chunk(store.rows(0)))
    store.write(2, chunk(store.rows(2)))
    again = ChunkStore(tmp_path, "fp", n_items=10, chunk_size=4)
    assert again.pending() == [1]
    read = again.read(2)
    assert read.positions.tolist() == [8, 9] and read.vectors.shape == (2, 4)


def test_corrupt_or_half_written_chunks_are_redone(tmp_path):
    store = ChunkStore(tmp_path, "fp", n_items=8, chunk_size=4)
    store.write(0, chunk(store.rows(0)))
    store.write(1, chunk(store.rows(1)))
    data = (tmp_path / "chunk-000000.npz").read_bytes()
    (tmp_path / "chunk-000000.npz").write_bytes(data[:-10] + b"\0" * 10)  # bit rot
    (tmp_path / "chunk-000001.done").unlink()  # killed between the two renames
    assert store.pending() == [0, 1]
    assert not (tmp_path / "chunk-000000.npz").exists()


def test_another_build_in_the_same_folder_is_refused(tmp_path):
    ChunkStore(tmp_path, "fp", n_items=8, chunk_size=4)
    with pytest.raises(WorkFolderMismatchError, match="another build"):
        ChunkStore(tmp_path, "other", n_items=8, chunk_size=4)
    with pytest.raises(WorkFolderMismatchError):
        ChunkStore(tmp_path, "fp", n_items=8, chunk_size=2)


def test_leftover_temporary_files_are_cleaned(tmp_path):
    ChunkStore(tmp_path, "fp", n_items=4, chunk_size=4)
    (tmp_path / ".chunk-000000.npz.tmp-123").write_bytes(b"partial")
    ChunkStore(tmp_path, "fp", n_items=4, chunk_size=4)
    assert not list(tmp_path.glob(".*.tmp-*"))
    assert json.loads((tmp_path / "plan.json").read_text())["n_items"] == 4


def test_a_work_folder_with_other_files_is_refused_and_cleanup_removes_only_the_builds_files(tmp_path):
    from logo_similarity.indexing.chunks import remove_work_folder

    users = tmp_path / "data"
    users.mkdir()
    (users / "photo.png").write_bytes(b"keep me")
    with pytest.raises(WorkFolderMismatchError, match="did not create"):
        ChunkStore(users, "fp", n_items=4, chunk_size=2)
    assert sorted(p.name for p in users.iterdir()) == ["photo.png"]  # nothing written among the user's files

    given = tmp_path / "empty"
    given.mkdir()  # the user's own (empty) folder: emptied of the build's files, but kept
    store = ChunkStore(given, "fp", n_items=4, chunk_size=2)
    store.write(0, Chunk(np.arange(2), np.zeros((2, 3), np.float32), [], [{}, {}]))
    remove_work_folder(given)
    assert given.is_dir() and not any(given.iterdir())

    made = tmp_path / "made" / "work"  # a folder the build made: removed with its files
    ChunkStore(made, "fp", n_items=4, chunk_size=2).write(0, Chunk(np.arange(2), np.zeros((2, 3), np.float32), [], [{}, {}]))
    remove_work_folder(made)
    assert not made.exists() and (tmp_path / "made").is_dir()
