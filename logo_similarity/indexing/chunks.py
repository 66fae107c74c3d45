"""Embeddings of a dataset in fixed-size chunks on disk, so a build survives ``kill -9`` at any instant.

Layout of a work folder::

    plan.json                  what is being built: fingerprint (model spec + dataset listing), chunk size, sizes
    chunk-000012.npz           positions (int64), vectors (float32), rejects (JSON) of dataset rows 12*size...
    chunk-000012.done          {"sha256": ..., "count": ...}, written after the .npz is in place

Every file is written to a temporary name, fsynced and renamed, then the folder is fsynced. A chunk counts
as finished only when its ``.done`` exists and the ``.npz`` matches the checksum in it; anything else (a
crash between the two renames, a truncated or corrupted file) is detected and the chunk is redone. Rows of
a chunk are written together or not at all, so nothing is lost or duplicated.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from loguru import logger

from logo_similarity.utils.fs import atomic_write


class WorkFolderMismatchError(RuntimeError):
    """The work folder holds chunks of another dataset or model, or files a build did not create."""


def _ours(name: str) -> bool:
    """Files a chunk store writes: its plan, chunks, done records and their temporary names, and the folder of
    a sharded index build (indexing/sharded.py)."""
    return name in ("plan.json", SHARDS) or (name.startswith("chunk-") and name.endswith((".npz", ".done"))) or (
        name.startswith(".") and ".tmp-" in name)


SHARDS = "shards"
_SHARD_FILES = ("plan.json", "trained.faiss", "merged.ivfdata")


def _remove_shards(folder: Path) -> None:
    """The sharded build's files (and its folder once empty); anything else found there is left alone."""
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        name = path.name
        if path.is_file() and (name in _SHARD_FILES or (name.startswith("shard-") and name.endswith((".faiss", ".done")))
                               or (name.startswith(".") and ".tmp-" in name)):
            path.unlink()
    if not any(folder.iterdir()):
        folder.rmdir()


def remove_work_folder(folder: Path) -> None:
    """Delete what a build wrote in ``folder`` (never anything else), and the folder if the build made it."""
    folder = Path(folder)
    plan_path = folder / "plan.json"
    if not plan_path.is_file():
        return
    made = bool(json.loads(plan_path.read_text()).get("made_folder"))
    _remove_shards(folder / SHARDS)
    for path in folder.iterdir():
        if path.is_file() and _ours(path.name) and path != plan_path:
            path.unlink()
    plan_path.unlink()
    if made and not any(folder.iterdir()):
        folder.rmdir()


@dataclass
class Chunk:
    positions: np.ndarray
    vectors: np.ndarray
    rejects: list[dict]
    extras: list[dict]  # per position: metadata found while embedding (e.g. text boxes)
    cells: np.ndarray | None = None  # (n, P, D) float16 local features, when the build stores them
    ink: np.ndarray | None = None  # (n, P) float32
    figures: np.ndarray | None = None  # (n, dim) float32 figure vectors, NaN rows for marks without one


def dataset_fingerprint(keys: list[str], spec_json: str) -> str:
    digest = hashlib.sha256(spec_json.encode())
    for key in keys:
        digest.update(key.encode())
        digest.update(b"\0")
    return digest.hexdigest()


class ChunkStore:
    def __init__(self, folder: Path, fingerprint: str, n_items: int, chunk_size: int, restart: bool = False) -> None:
        """``restart``: when the folder holds another build's chunks, discard them instead of refusing."""
        self.folder = Path(folder)
        self.fingerprint = fingerprint
        self.chunk_size = chunk_size
        self.n_items = n_items
        self.n_chunks = (n_items + chunk_size - 1) // chunk_size
        foreign = sorted(p.name for p in self.folder.iterdir() if not _ours(p.name)) if self.folder.is_dir() else []
        if foreign:  # the folder is someone's: a build must never write or delete among their files
            raise WorkFolderMismatchError(
                f"{self.folder} holds files a build did not create ({', '.join(foreign[:3])}); "
                "give an empty or new folder as the work folder"
            )
        made = not self.folder.exists()
        self.folder.mkdir(parents=True, exist_ok=True)
        plan = {"fingerprint": fingerprint, "chunk_size": chunk_size, "n_items": n_items}
        plan_path = self.folder / "plan.json"
        if plan_path.exists():
            existing = json.loads(plan_path.read_text())
            made = bool(existing.pop("made_folder", False))
            if existing != plan and not restart:
                raise WorkFolderMismatchError(
                    f"{self.folder} holds chunks of another build ({existing}); remove it or pass another work folder"
                )
            if existing != plan:
                logger.info("dataset or model changed since the last build in {}: starting over", self.folder)
                for old in list(self.folder.glob("chunk-*")):
                    old.unlink()
                atomic_write(plan_path, json.dumps({**plan, "made_folder": made}).encode())
        else:
            atomic_write(plan_path, json.dumps({**plan, "made_folder": made}).encode())
        for stale in self.folder.glob(".*.tmp-*"):
            stale.unlink(missing_ok=True)

    def rows(self, index: int) -> range:
        start = index * self.chunk_size
        return range(start, min(start + self.chunk_size, self.n_items))

    def _paths(self, index: int) -> tuple[Path, Path]:
        stem = self.folder / f"chunk-{index:06d}"
        return stem.with_suffix(".npz"), stem.with_suffix(".done")

    def is_done(self, index: int) -> bool:
        data_path, done_path = self._paths(index)
        if not done_path.exists():
            return False
        try:
            record = json.loads(done_path.read_text())
            ok = hashlib.sha256(data_path.read_bytes()).hexdigest() == record["sha256"]
        except (OSError, ValueError, KeyError):
            ok = False
        if not ok:
            logger.warning("chunk {} is corrupt or incomplete; it will be redone", index)
            done_path.unlink(missing_ok=True)
            data_path.unlink(missing_ok=True)
        return ok

    def pending(self) -> list[int]:
        return [i for i in range(self.n_chunks) if not self.is_done(i)]

    def write(self, index: int, chunk: Chunk) -> None:
        self.write_encoded(index, encode_chunk(chunk), len(chunk.positions))

    def write_encoded(self, index: int, data: bytes, count: int) -> None:
        """Store a chunk already serialised by ``encode_chunk`` (e.g. by a Ray worker): data first, then the record."""
        data_path, done_path = self._paths(index)
        atomic_write(data_path, data)
        record = {"sha256": hashlib.sha256(data).hexdigest(), "count": int(count)}
        atomic_write(done_path, json.dumps(record).encode())

    def read(self, index: int) -> Chunk:
        data_path, _ = self._paths(index)
        return decode_chunk(data_path.read_bytes())


def encode_chunk(chunk: Chunk) -> bytes:
    """A chunk as the bytes of its ``.npz`` file (the same whichever engine embedded it)."""
    buf = io.BytesIO()
    local = {} if chunk.cells is None else {"cells": np.asarray(chunk.cells, np.float16),
                                            "ink": np.asarray(chunk.ink, np.float32)}
    if chunk.figures is not None:
        local["figures"] = np.asarray(chunk.figures, np.float32)
    np.savez(buf, positions=np.asarray(chunk.positions, dtype=np.int64),
             vectors=np.asarray(chunk.vectors, dtype=np.float32),
             notes=np.frombuffer(json.dumps({"rejects": chunk.rejects, "extras": chunk.extras}).encode(), np.uint8),
             **local)
    return buf.getvalue()


def decode_chunk(data: bytes) -> Chunk:
    with np.load(io.BytesIO(data)) as npz:
        notes = json.loads(npz["notes"].tobytes().decode())
        local = (npz["cells"], npz["ink"]) if "cells" in npz.files else (None, None)
        figures = npz["figures"] if "figures" in npz.files else None
        return Chunk(npz["positions"], npz["vectors"], notes["rejects"], notes["extras"], *local, figures)


def read_chunk_file(folder: Path, number: int) -> Chunk:
    """Chunk ``number`` of a finished build's work folder, without opening it as a store (e.g. in a Ray task)."""
    return decode_chunk((Path(folder) / f"chunk-{number:06d}.npz").read_bytes())
