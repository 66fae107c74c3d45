"""A ``SearchIndex`` version on disk: written whole under a staging name, read back only if it is what was written.

Writing: every file goes into ``versions/.<name>.tmp``, is fsynced, its size and SHA-256 recorded in the
manifest, then the folder is renamed into place (switching ``current`` to it is the caller's step). A failed
write removes its staging folder; a full disk is reported as DiskFullError. Reading: the manifest's format,
then the recorded files (integrity.py), then the files themselves; anything unreadable is a CorruptIndexError
naming the folder, never a half-loaded index.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from logo_similarity import __version__
from logo_similarity.embeddings.spec import ModelSpec
from logo_similarity.retrieval.ann import migrate_ivf_ids, stored_ids
from logo_similarity.retrieval.store.errors import (
    CorruptIndexError,
    IndexMismatchError,
    IndexNotFoundError,
    SearchIndexError,
)
from logo_similarity.retrieval.store.integrity import file_digests, verify_files
from logo_similarity.retrieval.store.figures import FigureVectors
from logo_similarity.retrieval.store.local_features import LocalFeatures
from logo_similarity.retrieval.store.metadata import read_metadata, write_metadata
from logo_similarity.retrieval.ondisk import IVFDATA, has_ondisk_lists, to_array_lists, write_ondisk
from logo_similarity.retrieval.projection import Projection
from logo_similarity.retrieval.refine import RefineCodes
from logo_similarity.retrieval.store.versions import live_version, new_version_name
from logo_similarity.utils.fs import DiskFullError, fsync_dir, is_disk_full

FORMAT_VERSION = 1
HASH_VERIFY_MAX_BYTES = 256 * 1024**2  # larger files of a version are checked by size only when loading


def manifest_of(index) -> dict[str, Any]:
    """The manifest of a ``SearchIndex``: format, model spec, index type and tuning, stage-2 data."""
    return {
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "created": index.created,
        "count": len(index),
        "index_type": index.factory,
        "search_params": index.search_params,
        "tuned_recall@100": index.tuned_recall,
        "id_high_water": index.id_high_water,
        "tombstones": len(index.tombstones),
        "refine": None if index.refine is None else index.refine.manifest(),
        "ivf_lists": "ondisk" if index.ondisk_lists else "in_index",
        "pca": {"dim": index.projection.dim} if index.projection else None,
        "local": None if index.local is None else index.local.manifest(),
        "figures": None if index.figures is None else index.figures.manifest(),
        "metric": "inner_product",
        "spec": index.spec.to_dict(),
        "spec_fingerprint": index.spec.fingerprint(),
    }


def write_version(index, root: Path, manifest: dict[str, Any]) -> Path:
    """Write ``index`` (a SearchIndex) as a new, not yet live, version folder under ``root/versions``."""
    versions = Path(root) / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    name = new_version_name(root)
    folder = versions / name
    staging = versions / f".{name}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        _write_files(index, staging, manifest)
    except Exception as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if is_disk_full(exc):
            raise DiskFullError(f"no space left while writing a new version of {root} ({exc}); "
                                "the live version is unchanged") from exc
        raise
    staging.rename(folder)
    fsync_dir(versions)
    return folder


def _write_files(index, staging: Path, manifest: dict[str, Any]) -> None:
    if index.ondisk_lists:
        write_ondisk(index.index, staging / "index.faiss", staging / IVFDATA)
    else:
        faiss.write_index(index.index, str(staging / "index.faiss"))
    if index.projection is not None:
        index.projection.save(staging / "pca.npz")
    write_metadata(staging / "metadata.sqlite", index.metadata)
    if index.local is not None:
        index.local.save(staging)
    if index.figures is not None:
        index.figures.save(staging)
    if index.refine is not None:
        index.refine.save(staging)
    index.name_index().save(staging / "names.npz")  # a server then reads it instead of rebuilding it
    for path in staging.iterdir():
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())
    (staging / "manifest.json").write_text(json.dumps({**manifest, "files": file_digests(staging)}, indent=2))
    with open(staging / "manifest.json", "rb") as fh:
        os.fsync(fh.fileno())


def read_version(cls, folder: Path, mmap: bool):
    """The SearchIndex (of class ``cls``) stored in version ``folder``, after checking it is what was written."""
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise IndexNotFoundError(f"no index at {folder} (missing manifest.json); build one with `logo-sim index`")
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as exc:
        raise CorruptIndexError(f"{folder}: manifest.json cannot be read ({exc})") from exc
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"{folder}: index format {manifest.get('format_version')} is not {FORMAT_VERSION}; rebuild it"
        )
    verify_files(folder, manifest.get("files"), HASH_VERIFY_MAX_BYTES)  # versions before it have no record
    try:
        index = _read(cls, folder, manifest, mmap)
    except SearchIndexError:
        raise
    except Exception as exc:  # whatever FAISS, SQLite or numpy say about an unreadable file
        raise CorruptIndexError(f"{folder}: cannot be read ({type(exc).__name__}: {exc})") from exc
    if len(index.metadata) != len(index) or manifest["count"] != len(index):  # a version before the digests
        raise CorruptIndexError(
            f"{folder}: index holds {len(index)} vectors, metadata {len(index.metadata)}, "
            f"manifest says {manifest['count']}: the folder is inconsistent; rebuild it"
        )
    return index


def read_projection(root: Path) -> tuple[Projection | None, ModelSpec]:
    """A register's PCA (None when it has none) and the model it was fitted for, from the live version under
    ``root`` without loading the index: what a collection too small to fit its own borrows (a watch list)."""
    folder = live_version(Path(root))
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
        spec = ModelSpec.from_dict(manifest["spec"])
        projection = Projection.load(folder / "pca.npz") if manifest.get("pca") else None
    except FileNotFoundError as exc:
        raise IndexNotFoundError(f"no index at {root} ({exc.filename} is missing)") from exc
    except Exception as exc:  # whatever json or numpy say about an unreadable file
        raise CorruptIndexError(f"{folder}: its manifest or PCA cannot be read ({type(exc).__name__}: {exc})") from exc
    return projection, spec


def _read(cls, folder: Path, manifest: dict[str, Any], mmap: bool):
    spec = ModelSpec.from_dict(manifest["spec"])
    if manifest.get("ivf_lists") == "ondisk":
        # lists opened read-only (and memory-mapped: FAISS maps on-disk lists itself, IO_FLAG_MMAP would crash)
        # from beside the index file, wherever the folder is now
        flags = faiss.IO_FLAG_ONDISK_SAME_DIR | faiss.IO_FLAG_READ_ONLY
    else:
        flags = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY if mmap else 0
    stored = faiss.read_index(str(folder / "index.faiss"), flags)
    ondisk = has_ondisk_lists(stored)
    if not mmap:  # a read-only (mapped) load only searches, which an old IVF-in-IDMap2 index does correctly
        stored = migrate_ivf_ids(stored)
        if ondisk:  # changes go to a copy in memory, never into this version's lists file
            to_array_lists(stored)
    index = cls(
        spec, stored, factory=manifest.get("index_type", "Flat"),
        search_params=manifest.get("search_params"), tuned_recall=manifest.get("tuned_recall@100"),
        projection=Projection.load(folder / "pca.npz") if manifest.get("pca") else None,
    )
    index.ondisk_lists = ondisk
    index.created = manifest.get("created", index.created)
    index.id_high_water = int(manifest.get("id_high_water", -1))
    index.read_only = mmap
    index.metadata = read_metadata(folder / "metadata.sqlite")
    index.local = LocalFeatures.load(folder, mmap=mmap) if manifest.get("local") else None
    figures = manifest.get("figures")
    index.figures = FigureVectors.load(folder, figures["dim"], figures.get("split")) if figures else None
    index.refine = RefineCodes.load(folder, mmap=mmap) if manifest.get("refine") else None
    index.folder = folder
    if (folder / "names.npz").is_file() and "names.npz" in (manifest.get("files") or {}):
        index.names_file = folder / "names.npz"  # read when first needed (name_index)
    if manifest.get("tombstones"):  # deleted items still in an HNSW graph: the ids the metadata no longer has
        held = stored_ids(index.index)
        index.tombstones = np.setdiff1d(held, np.fromiter(index.metadata, np.int64, len(index.metadata)))
    return index
