"""Build an index from a dataset: load, normalise, embed, add. Unreadable images are rejected, not fatal."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from loguru import logger
from tqdm import tqdm

from logo_similarity.config import ImageSettings, Settings
from logo_similarity.datasets import LogoRecord, write_rejects
from logo_similarity.embeddings import Embedder
from logo_similarity.retrieval.chooser import choose_index
from logo_similarity.retrieval.chunks import Chunk, ChunkStore, dataset_fingerprint, encode_chunk
from logo_similarity.retrieval.embedding import (
    EmbeddedBatch,
    decode_pool,
    embed_records,
    extra_metadata,
    ocr_name_fields,
    stage2_options,
)
from logo_similarity.retrieval.embedding_cache import CachedItem, EmbeddingCache
from logo_similarity.retrieval.index import SearchIndex
from logo_similarity.retrieval.local_store import LocalFeatures
from logo_similarity.retrieval.projection import fit_projection
from logo_similarity.utils.fs import file_sha256

__all__ = ["BuildReport", "EmbeddedBatch", "build_index", "build_with_settings", "embed_records", "extra_metadata",
           "stage2_options", "write_rejects"]


@dataclass
class BuildReport:
    items: int = 0
    rejects: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    cached: int = 0  # embeddings taken from the embedding cache instead of computed

    @property
    def images_per_s(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0


def build_index(
    records: list[LogoRecord],
    embedder: Embedder,
    image_settings: ImageSettings,
    batch_size: int = 32,
    workers: int = 2,
    work: Path | None = None,
    chunk_size: int = 1024,
    memory_bytes: int = 8 * 1024**3,
    target_recall: float = 0.95,
    pca_dim: int = 0,
    factory: str | None = None,
    pca_min_items: int = 2560,
    decode_processes: bool = False,
    cache: Path | None = None,
    ids: Sequence[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
    local=None,
    read_names=None,
    engine=None,
    shard_size: int = 0,
) -> tuple[SearchIndex, BuildReport]:
    """Embed every readable record into a new index; ids are positions in ``records``, or ``ids[position]``.

    ``ids`` keeps the ids of an existing index when it is rebuilt from its own items; ``progress(done, total)``
    is called after each chunk (the API's rebuild jobs report it).

    Embeddings go through a chunk store in ``work`` (a temporary folder when None): rerunning an interrupted
    build with the same ``work`` folder skips finished chunks and redoes any half-written one. With ``cache``
    (an embedding cache file), a build of a changed dataset starts over in ``work`` but re-embeds only the
    images whose content or model changed. ``local`` / ``read_names``: see ``embed_records`` and
    ``stage2_options``. ``engine`` (a ``RayEngine``) embeds the chunks on a Ray cluster instead of here; the
    chunk files, the cache and the index are the same either way. With ``shard_size``, an IVF-family index of more
    vectors is built shard by shard with its lists merged on disk (sharded.py; shards are Ray tasks on Ray).
    """
    start = time.perf_counter()
    cached = 0
    with ExitStack() as stack:
        folder = work or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="logo-sim-build-")))
        stage2 = f"local={local.fingerprint() if local else None};names={read_names is not None}"
        fingerprint = dataset_fingerprint([f"{r.key}\t{r.path}" for r in records], embedder.spec.to_json() + stage2)
        store = ChunkStore(folder, fingerprint, len(records), chunk_size, restart=cache is not None)
        embeddings = cache_args = None
        if cache is not None:
            shape = None if local is None else (_cells(embedder, local), local.dim)
            cache_args = (cache, embedder.spec.fingerprint() + ("+names" if read_names else ""),
                          local.fingerprint() if local else None, shape)
            embeddings = EmbeddingCache(*cache_args)
            stack.callback(embeddings.close)
        pending = store.pending()
        done_items = len(records) - sum(len(store.rows(i)) for i in pending)
        if done_items:
            logger.info("resuming: {} of {} images already embedded in {}", done_items, len(records), folder)
        with tqdm(total=len(records), initial=done_items, desc="indexing", unit="img", disable=None) as bar:
            if engine is None:
                chunks = _embed_locally(records, store, pending, embedder, image_settings, batch_size, workers,
                                        decode_processes, embeddings, local, read_names)
            else:
                chunks = engine.embed_chunks(records, [(n, store.rows(n)) for n in pending], embedder.spec,
                                             local, read_names is not None, cache_args)
            for number, data, count, hits, fresh in chunks:
                store.write_encoded(number, data, count)
                if embeddings is not None and fresh:
                    embeddings.put(fresh)
                cached += hits
                rows = len(store.rows(number))
                bar.update(rows)
                done_items += rows
                if progress is not None:
                    progress(done_items, len(records))
        use_pca = pca_dim if pca_dim and len(records) >= max(pca_min_items, pca_dim + 1) else 0
        if pca_dim and not use_pca:
            logger.info("PCA to {} dims skipped: {} items < {}", pca_dim, len(records), pca_min_items)
        id_map = None
        if ids is not None:
            id_map = np.asarray(ids, dtype=np.int64)
            if id_map.shape != (len(records),) or len(np.unique(id_map)) != len(id_map):
                raise ValueError("ids must hold one distinct id per record")
        index, report = _assemble(records, store, embedder, memory_bytes, target_recall, use_pca, factory, id_map,
                                  local, shard_size, engine)
    report.seconds = time.perf_counter() - start
    report.cached = cached
    return index, report


def build_with_settings(
    records: list[LogoRecord], embedder: Embedder, settings: Settings, *, work: Path | None = None,
    cache: Path | None = None, ids: Sequence[int] | None = None, progress: Callable[[int, int], None] | None = None,
    factory: str | None = None, stage2: bool = True, make_embedder: Callable[[], Embedder] | None = None,
) -> tuple[SearchIndex, BuildReport]:
    """``build_index`` as configured by ``settings`` (index, image, model batch size, stage-2 data, engine).

    The one way the CLI, rebuild jobs, the demo and the evaluations build: each honours the same memory budget,
    PCA and chunking settings. ``factory`` forces an index type (evaluations measure the embedder with "Flat");
    ``stage2=False`` leaves out local features and OCR'd names. With ``index.engine: ray``, ``make_embedder``
    (picklable, building the same embedder as ``embedder``) runs in each Ray actor.
    """
    s = settings.index
    engine = None
    if s.engine == "ray":
        from logo_similarity.retrieval.ray_engine import RayEngine

        if make_embedder is None:
            raise ValueError("the Ray engine needs make_embedder: how each worker loads the model")
        engine = RayEngine(make_embedder, settings, s.ray_address, s.num_workers)
    return build_index(
        records, embedder, settings.image, settings.model.batch_size, s.workers, work=work, chunk_size=s.chunk_size,
        memory_bytes=int(s.memory_gb * 1024**3), target_recall=s.target_recall, pca_dim=s.pca_dim, factory=factory,
        pca_min_items=s.pca_min_items, decode_processes=s.decode_processes, cache=cache, ids=ids, progress=progress,
        engine=engine, shard_size=s.shard_size, **(stage2_options(embedder, settings) if stage2 else {}),
    )


def _embed_locally(records, store: ChunkStore, pending: list[int], embedder, image_settings, batch_size: int,
                   workers: int, decode_processes: bool, cache, local, read_names):
    """(number, encoded chunk, count, cache hits, fresh items) per pending chunk, embedded in this process."""
    with decode_pool(embedder, workers, decode_processes and read_names is None) as pool:
        for number in pending:
            chunk, hits, fresh = _embed_chunk(records, store.rows(number), embedder, image_settings, batch_size, pool,
                                              cache, local, read_names)
            yield number, encode_chunk(chunk), len(chunk.positions), hits, fresh


def _cells(embedder, local) -> int:
    side = embedder.spec.input_size // local.stride
    return side * side


def _embed_chunk(records, rows: range, embedder, image_settings, batch_size: int, pool: Executor,
                 cache: EmbeddingCache | None, local=None, read_names=None) -> tuple[Chunk, int, list]:
    """Embeddings of one chunk's rows (cache hits reused, the rest computed).

    Returns the chunk, the number of cache hits and the fresh (sha256, item) pairs for the caller to cache:
    the caller, not a Ray worker, is the one writer of the cache.
    """
    digests = {r: _sha256(records[r].path) for r in rows}
    hits = cache.get([d for d in digests.values() if d]) if cache else {}
    found: dict[int, CachedItem] = {r: hits[d] for r, d in digests.items() if d in hits}
    todo = [r for r in rows if r not in found]
    rejects, fresh = [], []
    for batch in embed_records([records[r] for r in todo], embedder, image_settings, batch_size, progress=False,
                               pool=pool, local=local, read_names=read_names):
        rejects += batch.rejects
        for n, (p, vector, ocr, name) in enumerate(zip(batch.positions, batch.vectors, batch.ocr, batch.names)):
            row = todo[p]
            extra = {**extra_metadata(ocr), "source_sha256": digests[row]}
            if name is not None:
                extra.update(ocr_name_fields(name))
            item = CachedItem(vector, extra)
            if local is not None:
                item.cells, item.ink = batch.cells[n], batch.ink[n]
            found[row] = item
            fresh.append((digests[row], item))
    ordered = sorted(found)
    vectors = np.stack([found[r].vector for r in ordered]) if ordered else np.zeros((0, embedder.spec.dim), np.float32)
    chunk = Chunk(np.asarray(ordered, dtype=np.int64), vectors, rejects, [found[r].extra for r in ordered])
    if local is not None:
        shape = (_cells(embedder, local), local.dim)
        chunk.cells = np.stack([found[r].cells for r in ordered]) if ordered else np.zeros((0, *shape), np.float16)
        chunk.ink = np.stack([found[r].ink for r in ordered]) if ordered else np.zeros((0, shape[0]), np.float32)
    return chunk, len(rows) - len(todo), [entry for entry in fresh if entry[0]]


def _assemble(records, store: ChunkStore, embedder, memory_bytes: int, target_recall: float, pca_dim: int,
              factory: str | None, id_map: np.ndarray | None = None, local=None, shard_size: int = 0, engine=None):
    """Read every chunk back (in order) and build the index type the chooser picks for this size."""
    report = BuildReport()
    ids, vectors, metas, cells, ink = [], [], [], [], []
    may_shard = bool(shard_size) and store.n_items > shard_size  # then vectors are not all held in memory here
    for number in range(store.n_chunks):
        chunk = store.read(number)
        report.rejects.extend(chunk.rejects)
        ids.append(chunk.positions if id_map is None else id_map[chunk.positions])
        metas += [{**records[p].to_metadata(), **extra} for p, extra in zip(chunk.positions.tolist(), chunk.extras)]
        if local is not None:
            cells.append(chunk.cells)
            ink.append(chunk.ink)
        if not may_shard:
            vectors.append(chunk.vectors)
    ids_all = np.concatenate(ids) if ids else np.zeros(0, np.int64)
    projection = None
    if pca_dim:
        projection = fit_projection((store.read(i).vectors for i in range(store.n_chunks)), pca_dim)
    dim = projection.dim if projection else embedder.spec.dim
    factory = factory or choose_index(len(ids_all), dim, memory_bytes)[0].factory
    if may_shard and len(ids_all) > shard_size and "IVF" in factory:  # vectors read shard by shard from the chunks
        index = _build_sharded(store, embedder, factory, dict(zip(ids_all.tolist(), metas)), projection,
                               target_recall, id_map, shard_size, engine)
    else:
        if may_shard:  # a graph or flat index after all: it needs every vector at once
            vectors = [store.read(number).vectors for number in range(store.n_chunks)]
        vectors_all = np.concatenate(vectors) if vectors else np.zeros((0, embedder.spec.dim), np.float32)
        index = SearchIndex.from_vectors(embedder.spec, ids_all, vectors_all, metas, factory, target_recall,
                                         projection=projection)
    if local is not None:
        grid = embedder.spec.input_size // local.stride
        index.local = LocalFeatures(local, grid)
        if cells:
            index.local.add(ids_all, np.concatenate(cells), np.concatenate(ink))
    report.items = len(index)
    return index, report


def _build_sharded(store: ChunkStore, embedder, factory: str, metadata: dict, projection, target_recall: float,
                   id_map, shard_size: int, engine):
    from functools import partial

    from logo_similarity.retrieval.sharded import build_sharded_index, load_chunks

    per_shard = max(1, shard_size // store.chunk_size)
    groups = [list(range(start, min(start + per_shard, store.n_chunks))) for start in range(0, store.n_chunks, per_shard)]
    loaders = [partial(load_chunks, store.folder, numbers, id_map, projection) for numbers in groups]
    logger.info("sharded build: {} vectors in {} shards of up to {}", len(metadata), len(loaders), per_shard * store.chunk_size)
    return build_sharded_index(embedder.spec, factory, store.folder / "shards", loaders, metadata, projection,
                               target_recall, engine=engine, fingerprint=store.fingerprint)


def _sha256(path: Path) -> str | None:
    """Content hash of a source image; None when it cannot be read (the decoder will reject it with a reason)."""
    try:
        return file_sha256(path)
    except OSError:
        return None
