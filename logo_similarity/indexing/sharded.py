"""IVF indexes built shard by shard, for collections that do not fit one process (autofaiss-style).

1. train the coarse quantiser (and PQ / OPQ) once, on a sample: ``trained.faiss``;
2. add each shard's vectors to a copy of the trained index: ``shard-000012.faiss`` (+ ``.done``), one per shard,
   each written atomically, so a killed build redoes only unfinished shards; shards are independent, so they
   run as Ray tasks when the build runs on Ray;
3. merge the shards' inverted lists into one FAISS on-disk inverted-list file (``OnDiskInvertedLists``), which
   a server memory-maps: the index's size is bounded by disk, not by one process's memory.

The work folder holds only files this module writes (``plan.json`` names what is being built); it is removed by
the caller with the rest of the build's work.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import faiss
import numpy as np
from loguru import logger

from logo_similarity.retrieval.ann import new_index, train_index
from logo_similarity.utils.fs import atomic_write

ShardLoader = Callable[[], tuple[np.ndarray, np.ndarray]]  # () -> (ids, vectors in index space)


class ShardedBuild:
    def __init__(self, folder: Path, factory: str, dim: int, n_shards: int, fingerprint: str = "") -> None:
        self.folder = Path(folder)
        self.factory, self.dim, self.n_shards = factory, dim, n_shards
        self.folder.mkdir(parents=True, exist_ok=True)
        plan = {"factory": factory, "dim": dim, "shards": n_shards, "fingerprint": fingerprint}
        plan_path = self.folder / "plan.json"
        if plan_path.exists() and json.loads(plan_path.read_text()) != plan:
            logger.info("sharded build in {} was for other data; starting over", self.folder)
            for old in self.folder.glob("*.faiss*"):
                old.unlink()
            for old in self.folder.glob("shard-*"):
                old.unlink()
        atomic_write(plan_path, json.dumps(plan).encode())

    @property
    def trained_path(self) -> Path:
        return self.folder / "trained.faiss"

    def shard_path(self, number: int) -> Path:
        return self.folder / f"shard-{number:06d}.faiss"

    def train(self, vectors: np.ndarray, seed: int = 0) -> None:
        """Train once (the quantisers only, no vectors added); a resumed build reuses the file."""
        if self.trained_path.exists():
            return
        index = train_index(new_index(self.dim, self.factory), vectors, seed=seed, factory=self.factory)
        atomic_write(self.trained_path, faiss.serialize_index(index).tobytes())

    def pending(self) -> list[int]:
        return [n for n in range(self.n_shards) if not self.shard_path(n).with_suffix(".done").exists()]

    def add_shards(self, loaders: Sequence[ShardLoader], engine=None) -> None:
        """Add every unfinished shard (``loaders[n]`` gives shard n's ids and vectors), here or as Ray tasks."""
        todo = self.pending()
        if todo and engine is not None:
            engine.run_tasks(add_shard, [(self.trained_path, self.shard_path(n), loaders[n]) for n in todo])
        else:
            for n in todo:
                add_shard(self.trained_path, self.shard_path(n), loaders[n])

    def merge(self, ivfdata: Path) -> faiss.Index:
        """The trained index holding every shard, its inverted lists in ``ivfdata`` (on disk, memory-mapped)."""
        if self.pending():
            raise RuntimeError(f"shards {self.pending()[:5]} are not built yet")
        index = faiss.deserialize_index(np.fromfile(self.trained_path, dtype=np.uint8))
        ivf = faiss.extract_index_ivf(index)
        shards = [faiss.read_index(str(self.shard_path(n)), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
                  for n in range(self.n_shards)]
        lists = faiss.InvertedListsPtrVector()
        for shard in shards:
            lists.push_back(faiss.extract_index_ivf(shard).invlists)
        ivfdata.unlink(missing_ok=True)
        merged = faiss.OnDiskInvertedLists(ivf.nlist, ivf.code_size, str(ivfdata))
        total = merged.merge_from_multiple(lists.data(), lists.size(), False)
        ivf.replace_invlists(merged, True)
        merged.this.disown()  # the index owns the lists now
        index.ntotal = ivf.ntotal = total
        ivf.set_direct_map_type(faiss.DirectMap.NoMap)  # the trained index's map is empty: rebuilt from the lists
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
        del shards
        logger.info("merged {} shards: {} vectors -> {}", self.n_shards, total, ivfdata)
        return index


def add_shard(trained_path: Path, out: Path, loader: ShardLoader) -> int:
    """Shard file = trained index + this shard's vectors (with their ids); written whole, then marked done."""
    index = faiss.deserialize_index(np.fromfile(trained_path, dtype=np.uint8))
    ids, vectors = loader()
    index.add_with_ids(np.ascontiguousarray(vectors, np.float32), np.ascontiguousarray(ids, np.int64))
    atomic_write(out, faiss.serialize_index(index).tobytes())
    atomic_write(out.with_suffix(".done"), json.dumps({"count": len(ids)}).encode())
    return len(ids)


def load_chunks(folder: Path, numbers: Sequence[int], id_map: np.ndarray | None, projection) -> tuple:
    """A shard's (ids, vectors in index space) from a build's chunk files (picklable, for Ray tasks)."""
    from logo_similarity.indexing.chunks import read_chunk_file

    ids, vectors = [], []
    for number in numbers:
        chunk = read_chunk_file(folder, number)
        ids.append(chunk.positions if id_map is None else id_map[chunk.positions])
        vectors.append(chunk.vectors if projection is None else projection(chunk.vectors))
    return np.concatenate(ids).astype(np.int64), np.ascontiguousarray(np.concatenate(vectors), np.float32)


def build_sharded_index(spec, factory: str, folder: Path, loaders: Sequence[ShardLoader], metadata: dict[int, dict],
                        projection=None, target_recall: float = 0.95, seed: int = 0, engine=None, fingerprint=""):
    """A ``SearchIndex`` built shard by shard (see the module doc) whose lists live in ``folder/merged.ivfdata``.

    Training uses the rows a one-shot build would sample (same seed), so on the same data both give the same
    quantisers and the same index. Tuning measures recall against exact search computed shard by shard.
    """
    from logo_similarity.retrieval.ann import exact_top_ids, training_rows, tune_search
    from logo_similarity.retrieval.index import SearchIndex
    from logo_similarity.retrieval.refine import RefineCodes, refine_kind

    n = len(metadata)
    dim = projection.dim if projection else spec.dim
    build = ShardedBuild(folder, factory, dim, len(loaders), fingerprint)
    rows = training_rows(n, seed)
    tune_rows = np.sort(np.random.default_rng(seed).choice(n, size=min(500, n), replace=False))
    sample, queries, query_ids, offset = [], [], [], 0
    for loader in loaders:  # pass 1: the training sample and the tuning queries
        ids, vectors = loader()
        span = slice(*np.searchsorted(rows, [offset, offset + len(ids)]))
        sample.append(vectors[rows[span] - offset])
        span = slice(*np.searchsorted(tune_rows, [offset, offset + len(ids)]))
        queries.append(vectors[tune_rows[span] - offset])
        query_ids.append(ids[tune_rows[span] - offset])
        offset += len(ids)
    sample_vectors = np.concatenate(sample)
    build.train(sample_vectors, seed)
    build.add_shards(loaders, engine)  # pass 2, resumable: Ray tasks on Ray
    queries_all, query_ids_all = np.concatenate(queries), np.concatenate(query_ids)
    refine = RefineCodes.trained(sample_vectors) if refine_kind(factory) else None
    truth = exact_top_ids(queries_all, (loader() for loader in loaders), 101, refine)  # pass 3 (+ refine codes)
    built = SearchIndex(spec, build.merge(folder / "merged.ivfdata"), factory=factory, projection=projection)
    built.ondisk_lists = True
    built.refine = refine
    built.set_metadata(metadata)
    built.search_params, built.tuned_recall = tune_search(built.index, truth, queries_all, query_ids_all,
                                                          target_recall, refine=refine)
    logger.info("{} (sharded): {} reaches recall@100 {:.3f}", factory, built.search_params, built.tuned_recall)
    return built
