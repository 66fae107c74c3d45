"""Build an index from a dataset: load, normalise, embed, add. Unreadable images are rejected, not fatal."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from loguru import logger
from tqdm import tqdm

from logo_similarity.config import ImageSettings, IndexSettings, Settings
from logo_similarity.datasets import LogoRecord
from logo_similarity.embeddings import Embedder
from logo_similarity.indexing.chunks import ChunkStore, dataset_fingerprint, encode_chunk
from logo_similarity.indexing.embedding import (
    Stage2Data,
    decode_pool,
    embed_chunk,
    local_cells,
    local_grid,
    stage2_data,
)
from logo_similarity.indexing.embedding_cache import EmbeddingCache
from logo_similarity.preprocessing.elements import split_descriptor
from logo_similarity.retrieval.chooser import choose_index
from logo_similarity.retrieval.index import SearchIndex
from logo_similarity.retrieval.projection import Projection, fit_projection
from logo_similarity.retrieval.store.figures import FigureVectors
from logo_similarity.retrieval.store.local_features import LocalFeatures


@dataclass
class BuildReport:
    items: int = 0
    rejects: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    cached: int = 0  # embeddings taken from the embedding cache instead of computed

    @property
    def images_per_s(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class BuildRequest:
    """What to build, from where, and how.

    What: ``records``, with ``ids`` (one per record; default: their positions) when an index is rebuilt from its
    own items, and ``factory`` to force an index type (evaluations measure the embedder with "Flat"). From where:
    ``work``, the chunk store a rerun resumes from (a temporary folder when None), and ``cache``, an embedding
    cache file, so a build of a changed dataset re-embeds only the images whose content or model changed. How:
    the ``index`` settings section (chunking, decoding workers, memory budget, PCA, recall target, shards), how
    images are read, the embedder's batch size, and the data stored for re-ranking (``stage2``). ``projection``:
    a PCA fitted on another collection (a register), used instead of fitting one, whatever the size: a watch
    list of a few marks, too small to fit its own, is then compared in the register's whitened space.
    """

    records: Sequence[LogoRecord]
    index: IndexSettings = field(default_factory=IndexSettings)
    image: ImageSettings = field(default_factory=ImageSettings)
    batch_size: int = 32
    stage2: Stage2Data = Stage2Data()
    work: Path | None = None
    cache: Path | None = None
    ids: Sequence[int] | None = None
    factory: str | None = None
    projection: Projection | None = None


def build_index(request: BuildRequest, embedder: Embedder, *, progress: Callable[[int, int], None] | None = None,
                engine=None) -> tuple[SearchIndex, BuildReport]:
    """Embed every readable record of ``request`` into a new index; ids are positions, or ``request.ids``.

    ``progress(done, total)`` is called after each chunk (the API's rebuild jobs report it). Rerunning an
    interrupted build with the same ``work`` folder skips finished chunks and redoes any half-written one.
    ``engine`` (a ``RayEngine``) embeds the chunks on a Ray cluster instead of here; the chunk files, the cache
    and the index are the same either way. With ``index.shard_size``, an IVF-family index of more vectors is
    built shard by shard with its lists merged on disk (sharded.py; shards are Ray tasks on Ray).
    """
    start = time.perf_counter()
    if request.projection is not None and request.projection.mean.shape != (embedder.spec.dim,):
        raise ValueError(f"the given projection takes {request.projection.mean.shape[0]}-dim vectors, "
                         f"the model gives {embedder.spec.dim}")  # said before any image is embedded
    records, settings, stage2 = list(request.records), request.index, request.stage2
    cached = 0
    with ExitStack() as stack:
        folder = request.work or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="logo-sim-build-")))
        fingerprint = dataset_fingerprint([f"{r.key}\t{r.path}" for r in records],
                                          embedder.spec.to_json() + stage2.fingerprint())
        store = ChunkStore(folder, fingerprint, len(records), settings.chunk_size, restart=request.cache is not None)
        embeddings = cache_args = None
        if request.cache is not None:
            local = stage2.local
            shape = None if local is None else (local_cells(embedder, local), local.dim)
            cache_args = (request.cache, embedder.spec.fingerprint() + ("+names" if stage2.read_names else ""),
                          local.fingerprint() if local else None, shape, stage2.elements_key())
            embeddings = EmbeddingCache(*cache_args)
            stack.callback(embeddings.close)
        pending = store.pending()
        done_items = len(records) - sum(len(store.rows(i)) for i in pending)
        if done_items:
            logger.info("resuming: {} of {} images already embedded in {}", done_items, len(records), folder)
        with tqdm(total=len(records), initial=done_items, desc="indexing", unit="img", disable=None) as bar:
            if engine is None:
                chunks = _embed_locally(records, store, pending, embedder, request, embeddings)
            else:
                chunks = engine.embed_chunks(records, [(n, store.rows(n)) for n in pending], embedder.spec,
                                             stage2.local, stage2.read_names is not None, cache_args,
                                             stage2.elements)
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
        pca_dim = settings.pca_dim
        use_pca = pca_dim if pca_dim and len(records) >= max(settings.pca_min_items, pca_dim + 1) else 0
        if request.projection is not None:
            use_pca = request.projection
        elif pca_dim and not use_pca:
            logger.info("PCA to {} dims skipped: {} items < {}", pca_dim, len(records), settings.pca_min_items)
        id_map = None
        if request.ids is not None:
            id_map = np.asarray(request.ids, dtype=np.int64)
            if id_map.shape != (len(records),) or len(np.unique(id_map)) != len(id_map):
                raise ValueError("ids must hold one distinct id per record")
        index, report = _assemble(records, store, embedder, settings, use_pca, request.factory, id_map, stage2,
                                  engine)
    report.seconds = time.perf_counter() - start
    report.cached = cached
    return index, report


def build_with_settings(
    records: list[LogoRecord], embedder: Embedder, settings: Settings, *, work: Path | None = None,
    cache: Path | None = None, ids: Sequence[int] | None = None, progress: Callable[[int, int], None] | None = None,
    factory: str | None = None, stage2: bool = True, make_embedder: Callable[[], Embedder] | None = None,
    projection: Projection | None = None,
) -> tuple[SearchIndex, BuildReport]:
    """``build_index`` as configured by ``settings`` (index, image, model batch size, stage-2 data, engine).

    The one way the CLI, rebuild jobs, the demo and the evaluations build: each honours the same memory budget,
    PCA and chunking settings. ``stage2=False`` leaves out local features and OCR'd names. With ``index.engine:
    ray``, ``make_embedder`` (picklable, building the same embedder as ``embedder``) runs in each Ray actor.
    ``projection``: a register's PCA to use instead of fitting one (``BuildRequest``).
    """
    engine = None
    if settings.index.engine == "ray":
        from logo_similarity.indexing.ray_engine import RayEngine

        if make_embedder is None:
            raise ValueError("the Ray engine needs make_embedder: how each worker loads the model")
        engine = RayEngine(make_embedder, settings, settings.index.ray_address, settings.index.num_workers)
    request = BuildRequest(records, settings.index, settings.image, settings.model.batch_size,
                           stage2_data(embedder, settings) if stage2 else Stage2Data(), work, cache, ids, factory,
                           projection)
    return build_index(request, embedder, progress=progress, engine=engine)


def _embed_locally(records, store: ChunkStore, pending: list[int], embedder, request: BuildRequest, cache):
    """(number, encoded chunk, count, cache hits, fresh items) per pending chunk, embedded in this process."""
    settings, stage2 = request.index, request.stage2
    processes = settings.decode_processes and stage2.read_names is None
    with decode_pool(embedder, settings.workers, processes) as pool:
        for number in pending:
            chunk, hits, fresh = embed_chunk(records, store.rows(number), embedder, request.image, request.batch_size,
                                             pool, cache, stage2)
            yield number, encode_chunk(chunk), len(chunk.positions), hits, fresh


def _assemble(records, store: ChunkStore, embedder, settings: IndexSettings, pca: int | Projection,
              factory: str | None, id_map: np.ndarray | None, stage2: Stage2Data, engine):
    """Read every chunk back (in order) and build the index type the chooser picks for this size; ``pca``: the
    dims of a PCA to fit (0: none), or a projection to use."""
    report = BuildReport()
    shard_size, target_recall = settings.shard_size, settings.target_recall
    local = stage2.local
    ids, vectors, metas, cells, ink, figures = [], [], [], [], [], []
    may_shard = bool(shard_size) and store.n_items > shard_size  # then vectors are not all held in memory here
    for number in range(store.n_chunks):
        chunk = store.read(number)
        report.rejects.extend(chunk.rejects)
        ids.append(chunk.positions if id_map is None else id_map[chunk.positions])
        metas += [{**records[p].to_metadata(), **extra} for p, extra in zip(chunk.positions.tolist(), chunk.extras)]
        if local is not None:
            cells.append(chunk.cells)
            ink.append(chunk.ink)
        if stage2.elements is not None:
            figures.append(chunk.figures)
        if not may_shard:
            vectors.append(chunk.vectors)
    ids_all = np.concatenate(ids) if ids else np.zeros(0, np.int64)
    projection = pca if isinstance(pca, Projection) else None
    if projection is None and pca:
        projection = fit_projection((store.read(i).vectors for i in range(store.n_chunks)), pca)
    dim = projection.dim if projection else embedder.spec.dim
    factory = factory or choose_index(len(ids_all), dim, int(settings.memory_gb * 1024**3))[0].factory
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
        index.local = LocalFeatures(local, local_grid(embedder, local))
        if cells:
            index.local.add(ids_all, np.concatenate(cells), np.concatenate(ink))
    if stage2.elements is not None:
        reader = stage2.elements
        index.figures = FigureVectors(index.dim, split=split_descriptor(reader.text, reader.elements))
        if figures:
            index.add_figures(ids_all, np.concatenate(figures))
    report.items = len(index)
    return index, report


def _build_sharded(store: ChunkStore, embedder, factory: str, metadata: dict, projection, target_recall: float,
                   id_map, shard_size: int, engine):
    from functools import partial

    from logo_similarity.indexing.sharded import build_sharded_index, load_chunks

    per_shard = max(1, shard_size // store.chunk_size)
    groups = [list(range(start, min(start + per_shard, store.n_chunks))) for start in range(0, store.n_chunks, per_shard)]
    loaders = [partial(load_chunks, store.folder, numbers, id_map, projection) for numbers in groups]
    logger.info("sharded build: {} vectors in {} shards of up to {}", len(metadata), len(loaders), per_shard * store.chunk_size)
    return build_sharded_index(embedder.spec, factory, store.folder / "shards", loaders, metadata, projection,
                               target_recall, engine=engine, fingerprint=store.fingerprint)

