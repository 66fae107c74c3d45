"""FAISS index (exact inner product over L2-normalised vectors = cosine) with a metadata table and manifest.

On disk, an index root holds immutable versions and a pointer to the live one::

    ROOT/current -> versions/20261121T093000-1234     (symlink, replaced atomically)
    ROOT/versions/<id>/manifest.json                   format version, model spec, count, index type, time
    ROOT/versions/<id>/index.faiss                     faiss index holding our int64 ids (retrieval/ann.py)
    ROOT/versions/<id>/metadata.sqlite                 items: id, key, file, text, vienna_codes, year, OCR, checksum
    ROOT/versions/<id>/local_*.npy, local_pca.npz       local features for spatial re-ranking (retrieval/store/local_features.py)
    ROOT/versions/<id>/figure_*.npy                     composite marks' figure vectors (retrieval/store/figures.py)

A version is written completely (under a temporary name, fsynced, renamed; retrieval/store/index_io.py) before
``current`` is switched to it, so a reader sees either the old index or the new one, never half of one or
none. The newest ``keep_versions`` versions are kept; older ones are pruned after the switch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from loguru import logger

from logo_similarity.embeddings.spec import ModelSpec
from logo_similarity.retrieval.ann import (
    can_remove,
    ensure_direct_map,
    exact_search_among,
    filtered_params,
    new_index,
    search_with,
    train_index,
    tune_search,
)
from logo_similarity.retrieval.store.errors import (  # re-exported: callers import them from here
    CorruptIndexError,
    IndexMismatchError,
    IndexNotFoundError,
    SearchIndexError,
)
from logo_similarity.retrieval.store.index_io import FORMAT_VERSION, manifest_of, read_version, write_version
from logo_similarity.retrieval.store.metadata import searchable_name
from logo_similarity.retrieval.projection import Projection
from logo_similarity.retrieval.refine import RefineCodes, refine_kind
from logo_similarity.retrieval.store.versions import live_version, prune_versions, switch_current

__all__ = ["CorruptIndexError", "EXACT_FILTER_MAX", "FORMAT_VERSION", "Hits", "IndexMismatchError",
           "IndexNotFoundError", "SearchIndex", "SearchIndexError"]

EXACT_FILTER_MAX = 2048  # a filter leaving at most this many items is scored exactly, not through the ANN
# HNSW cannot delete: deleted items stay in the graph as tombstones, filtered out of every search, until they
# are this share of it; then the graph is rebuilt from the kept vectors (a full rebuild takes minutes at 1M).
TOMBSTONE_REBUILD_FRACTION = 0.1


@dataclass(frozen=True)
class Hits:
    """Search output for a batch of queries: ``ids[q, r]`` is -1 where fewer than k items exist."""

    scores: np.ndarray
    ids: np.ndarray


class SearchIndex:
    def __init__(
        self, spec: ModelSpec, index: faiss.Index | None = None, factory: str = "Flat",
        search_params: dict[str, int] | None = None, tuned_recall: float | None = None,
        projection: Projection | None = None,
    ) -> None:
        self.spec = spec
        self.factory = factory
        self.projection = projection
        self.dim = projection.dim if projection else spec.dim
        self.index = index if index is not None else new_index(self.dim, factory)
        self.search_params = dict(search_params or {})
        self.tuned_recall = tuned_recall
        self.id_high_water = -1  # highest id ever added; deleted ids are never reused
        self.read_only = False  # True when memory-mapped: FAISS must not write to the mapping
        self.metadata: dict[int, dict[str, Any]] = {}
        self.local = None  # LocalFeatures when the index stores local features (spatial re-ranking)
        self.figures = None  # FigureVectors when the index stores its composite marks' figures (elements)
        self.folder: Path | None = None  # the version folder it was loaded from
        self.tombstones = np.zeros(0, dtype=np.int64)  # ids deleted but still in an HNSW graph (never returned)
        self.refine: RefineCodes | None = None  # 8-bit codes re-scoring a PQ index's candidates (refine.py)
        self._names = None  # NameIndex, once built or read
        self._filter_columns = None  # FilterColumns, once a filtered search needs them
        self.ondisk_lists = False  # IVF lists stored in a file beside the index (ondisk.py), as sharded builds do
        self.names_file: Path | None = None  # the stored name index of the version it was loaded from
        self.created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    @classmethod
    def from_vectors(
        cls, spec: ModelSpec, ids: np.ndarray, vectors: np.ndarray, metadata: list[dict[str, Any]],
        factory: str = "Flat", target_recall: float = 0.95, seed: int = 0, projection: Projection | None = None,
    ) -> SearchIndex:
        """Build (train, add, tune) an index of type ``factory`` over the given raw embeddings."""
        built = cls(spec, factory=factory, projection=projection)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if projection is not None:
            vectors = projection(vectors)
        if factory != "Flat" and len(vectors):
            built.index = train_index(built.index, vectors, seed=seed, factory=factory)
        if refine_kind(factory) and len(vectors):
            built.refine = RefineCodes.trained(vectors)
        built._add_projected(ids, vectors, metadata)
        if factory != "Flat" and len(vectors):
            rng = np.random.default_rng(seed)
            rows = rng.choice(len(vectors), size=min(500, len(vectors)), replace=False)
            exact = faiss.IndexIDMap2(faiss.IndexFlatIP(built.dim))
            exact.add_with_ids(vectors, np.ascontiguousarray(ids, dtype=np.int64))
            built.search_params, built.tuned_recall = tune_search(
                built.index, exact, vectors[rows], np.asarray(ids)[rows], target_recall, refine=built.refine
            )
            log = logger.info if built.tuned_recall >= target_recall else logger.warning
            log("{}: {} reaches recall@100 {:.3f} (target {:.2f})", factory, built.search_params, built.tuned_recall,
                target_recall)
        return built

    def __len__(self) -> int:
        return int(self.index.ntotal) - len(self.tombstones)

    def add(self, ids: np.ndarray, vectors: np.ndarray, metadata: list[dict[str, Any]], cells=None, ink=None,
            figures: np.ndarray | None = None) -> None:
        """Add raw embeddings (projected here when the index has a PCA projection), with their local features
        (made with ``self.local.projection``) and figures (raw, NaN rows for marks without one) when the index
        stores them."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.spec.dim:
            raise ValueError(f"vectors must be (n, {self.spec.dim}), got {vectors.shape}")
        self._add_projected(ids, self.projection(vectors) if self.projection else vectors, metadata)
        if self.local is not None and cells is not None:
            self.local.add(ids, cells, ink)
        if self.figures is not None and figures is not None:
            self.add_figures(ids, figures)

    def add_figures(self, ids: np.ndarray, figures: np.ndarray) -> None:
        """Raw figure vectors of ``ids`` (rows of NaN: the mark has none) into the figure store, in index space."""
        figures = np.asarray(figures, np.float32).reshape(len(ids), -1)
        has = ~np.isnan(figures).any(axis=1)
        if has.any():
            rows = np.ascontiguousarray(figures[has])
            self.figures.add(np.asarray(ids, np.int64)[has], self.projection(rows) if self.projection else rows)

    def _check_writable(self) -> None:
        if self.read_only:
            raise SearchIndexError("this index was loaded memory-mapped (read-only); load it with mmap=False to change it")

    def _add_projected(self, ids: np.ndarray, vectors: np.ndarray, metadata: list[dict[str, Any]]) -> None:
        self._check_writable()
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if not (len(ids) == len(vectors) == len(metadata)):
            raise ValueError("ids, vectors and metadata must have the same length")
        clash = [int(i) for i in ids if int(i) in self.metadata]
        if clash or len(set(ids.tolist())) != len(ids):
            raise ValueError(f"duplicate ids: {clash[:5] or 'within the batch'}")
        self.index.add_with_ids(vectors, ids)
        if self.refine is not None:
            self.refine.add(ids, vectors)
        self.set_metadata(dict(zip(ids.tolist(), metadata)))

    def set_metadata(self, metadata: dict[int, dict[str, Any]]) -> None:
        """Record items whose vectors the FAISS index holds (added here, or by a sharded build)."""
        for item_id, meta in metadata.items():
            # The same shape an item has after a save/load round trip through the metadata store.
            self.metadata[item_id] = {"id": item_id, "text": None, "vienna_codes": [], "year": None, **meta}
        self._names = self.names_file = None
        self._filter_columns = None
        if metadata:
            self.id_high_water = max(self.id_high_water, max(metadata))

    def search(self, queries: np.ndarray, k: int, projected: bool = False, allowed: np.ndarray | None = None) -> Hits:
        """Top k for raw embeddings, or for vectors already in index space (``projected``, e.g. stored ones).

        ``allowed`` (ids) restricts the search inside FAISS (an id selector, an IVF scanning as many lists as the
        filter's share of items needs: ``filtered_params``), so a selective filter still yields k results when k
        exist; a small allowed set is scored exactly instead, and so is a query the ANN still left short (graph
        indexes such as HNSW can miss items when most of the graph is filtered out).
        """
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        expected = self.dim if projected else self.spec.dim
        if queries.shape[1] != expected:
            raise ValueError(f"query vectors must have {expected} dims, got {queries.shape[1]}")
        if self.projection is not None and not projected:
            queries = self.projection(queries)
        k = max(1, min(int(k), max(len(self), 1)))
        if allowed is not None and len(allowed) <= max(4 * k, EXACT_FILTER_MAX):
            return self._search_among(queries, k, np.asarray(allowed, dtype=np.int64))
        # ``allowed`` holds live items only (filters read the metadata); otherwise tombstones are excluded
        params = self.search_params if allowed is None else filtered_params(self.index, self.search_params, k,
                                                                            len(allowed))
        scores, ids = search_with(self.index, queries, k, params, allowed,
                                  None if allowed is not None else self.tombstones, self.refine)
        if allowed is not None:  # k results whenever k items pass: a query the ANN left short is scored exactly
            short = (ids >= 0).sum(axis=1) < min(k, len(allowed))
            if short.any():
                exact = self._search_among(queries[short], k, np.asarray(allowed, dtype=np.int64))
                scores[short], ids[short] = exact.scores, exact.ids
        return Hits(scores=scores, ids=ids)

    def _search_among(self, queries: np.ndarray, k: int, allowed: np.ndarray) -> Hits:
        allowed = np.array([i for i in allowed.tolist() if i in self.metadata], dtype=np.int64)
        scores, ids = exact_search_among(queries, self.vectors(allowed).astype(np.float32), allowed, k)
        return Hits(scores=scores, ids=ids)

    def next_id(self) -> int:
        return max(self.id_high_water, max(self.metadata, default=-1)) + 1

    def remove(self, ids: list[int]) -> int:
        """Remove items by id; returns how many were present. Unknown ids are ignored."""
        self._check_writable()
        present = [int(i) for i in ids if int(i) in self.metadata]
        if not present:
            return 0
        if can_remove(self.index):
            removed = self.index.remove_ids(np.asarray(present, dtype=np.int64))
        else:
            self.tombstones = np.union1d(self.tombstones, np.asarray(present, dtype=np.int64))
            removed = len(present)
            if len(self.tombstones) > TOMBSTONE_REBUILD_FRACTION * self.index.ntotal:
                self._rebuild_graph(sorted(set(self.metadata) - set(present)))
        for item in present:
            del self.metadata[item]
        if self.local is not None:
            self.local.remove(present)
        if self.figures is not None:
            self.figures.remove(present)
        if self.refine is not None:
            self.refine.remove(present)
        self._names = self.names_file = None
        self._filter_columns = None
        if removed != len(present):
            raise SearchIndexError(f"index removed {removed} vectors for {len(present)} ids; rebuild the index")
        return len(present)

    def _rebuild_graph(self, keep: list[int]) -> None:
        """A new graph of the kept items only (their stored vectors, same ids): the tombstones are gone."""
        keep_ids = np.asarray(keep, dtype=np.int64)
        vectors = self.vectors(keep_ids).astype(np.float32)
        self.index = new_index(self.dim, self.factory)
        if len(keep_ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors), keep_ids)
        self.tombstones = np.zeros(0, dtype=np.int64)
        self._direct_map_ready = False
        logger.info("{} graph rebuilt without its deleted items ({} kept)", self.factory, len(keep_ids))

    def name_index(self, phonetic_weight: float | None = None):
        """Name search structure over the items' names: read from the version it was loaded from (stored there
        by ``save``), else built; kept until the index changes. ``phonetic_weight`` sets how it scores."""
        import copy

        from logo_similarity.text.name_index import NameIndex

        if self._names is None:
            if self.names_file is not None:
                self._names = NameIndex.load(self.names_file, phonetic_weight or 0.0)
            else:
                named = {i: searchable_name(m)[0] for i, m in self.metadata.items()}
                ids = sorted(i for i, name in named.items() if name)
                self._names = NameIndex(ids, [named[i] for i in ids], phonetic_weight or 0.0)
        if phonetic_weight is None or phonetic_weight == self._names.phonetic_weight:
            return self._names
        weighted = copy.copy(self._names)  # shares the arrays; only the scoring weight differs
        weighted.phonetic_weight = phonetic_weight
        return weighted

    def allowed_ids(self, item_filter) -> np.ndarray:
        """Sorted ids of the items ``item_filter`` (an ``ItemFilter``) accepts, from columns built on first use and
        kept until the index changes (``filter_columns.py``)."""
        from logo_similarity.retrieval.filter_columns import FilterColumns

        if self._filter_columns is None:
            self._filter_columns = FilterColumns(self.metadata)
        return self._filter_columns.allowed(item_filter)

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """Stored (projected, when PCA is on) vectors of the given ids."""
        if not len(ids):
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.refine is not None:  # 8-bit codes are closer to the vectors than a PQ reconstruction
            return self.refine.vectors(np.asarray(ids, np.int64))
        if not getattr(self, "_direct_map_ready", False):
            ensure_direct_map(self.index)
            self._direct_map_ready = True
        # one call into FAISS for all ids (reconstructing them one by one cost ~8 ms per 1,000 candidates)
        return self.index.reconstruct_batch(np.ascontiguousarray(ids, dtype=np.int64))

    def check_compatible(self, spec: ModelSpec) -> None:
        diff = self.spec.mismatch(spec)
        if diff:
            raise IndexMismatchError(
                "index was built with a different model or preprocessing than the query embedder: "
                + "; ".join(diff)
                + ". Rebuild the index with this model, or query with the model that built it."
            )

    def manifest(self) -> dict[str, Any]:
        """What a version records about this index (index_io.manifest_of)."""
        return manifest_of(self)

    def save(self, root: str | Path, keep_versions: int = 2) -> Path:
        """Write a new version under ``root``, switch ``root/current`` to it, prune old versions.

        Returns the new version's folder.
        """
        root = Path(root)
        version = self.write_version(root)
        switch_current(root, version)
        prune_versions(root, keep_versions)
        return version

    def write_version(self, root: Path) -> Path:
        """Write this index as a new, not yet live, version folder under ``root/versions`` (index_io.py)."""
        return write_version(self, Path(root), manifest_of(self))

    @classmethod
    def load(cls, folder: str | Path, expected_spec: ModelSpec | None = None, mmap: bool = False) -> SearchIndex:
        """Load the live version of an index root (or a version folder given directly), checked against what
        was written (index_io.py).

        ``mmap`` maps the index file instead of reading it (less memory, shared between processes, fast to
        open); the result is read-only.
        """
        index = read_version(cls, live_version(Path(folder)), mmap)
        if expected_spec is not None:
            index.check_compatible(expected_spec)
        return index
