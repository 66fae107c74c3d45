"""The heavy build stages (read -> decode -> OCR/mask -> embed) on a Ray cluster (extra ``[distributed]``).

A build's pending chunks become a Ray Data dataset, one row per chunk, mapped by an actor pool
(``map_batches``): each actor loads the embedder once (one ONNX session, and the OCR models when the build
reads names), embeds a chunk with the same function as the local engine (``embedding.embed_chunk``) and returns it
serialised as its ``.npz``. The driver streams the results and writes each chunk file and embedding-cache entry
itself, so the work folder, the resume-after-kill logic, the cache and the final index are the local engine's.

On a multi-machine cluster the images, the work folder and the cache file must be on storage every node sees
(the same paths), and every node needs this package installed, as for any Ray job.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from loguru import logger

from logo_similarity.embeddings.spec import ModelSpec


class RayUnavailableError(RuntimeError):
    """``--engine ray`` without Ray installed, or a cluster that cannot be reached."""


def _ray():
    try:
        import ray
        import ray.data  # noqa: F401  (Ray Data ships with ray[data])
    except ImportError as exc:
        raise RayUnavailableError(
            "the Ray engine needs Ray: pip install 'logo-similarity[distributed]' (or use --engine local)"
        ) from exc
    return ray


@dataclass
class RayEngine:
    """Where and how wide to run: ``address`` None starts a local cluster; "auto" or "ray://host:10001" joins one.

    ``make_embedder`` (picklable, e.g. ``functools.partial(load_embedder, model, settings)``) builds the
    embedder inside each actor; ``settings`` gives image, batch, decoding and OCR settings.
    """

    make_embedder: Callable[[], Any]
    settings: Any
    address: str | None = None
    num_workers: int = 0  # 0: one actor per GPU when the cluster has GPUs, else one per CPU
    object_store_mb: int | None = None  # local cluster only; Ray's default is 30% of memory

    def _connect(self):
        ray = _ray()
        if not ray.is_initialized():
            options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
            if self.address is None:  # a local cluster gets every core; actors split them (embed_chunks)
                options["num_cpus"] = max(os.cpu_count() or 1, self.num_workers)
                if self.object_store_mb:
                    options["object_store_memory"] = self.object_store_mb * 1024**2
            try:
                ray.init(address=self.address, **options)
            except ConnectionError as exc:
                raise RayUnavailableError(f"cannot reach the Ray cluster at {self.address}: {exc}") from exc
        ray.data.DataContext.get_current().enable_progress_bars = False
        return ray

    def embed_chunks(self, records: list, chunks: list[tuple[int, range]], spec: ModelSpec, local, read_names: bool,
                     cache_args: tuple | None, elements=None) -> Iterator[tuple[int, bytes, int, int, list]]:
        """(number, encoded chunk, count, cache hits, fresh cache items) per chunk, as actors finish them; with
        ``elements`` (the driver's ``ElementReader``) each actor splits marks with the same settings."""
        if not chunks:
            return
        ray = self._connect()
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        workers = self.num_workers or gpus or max(1, int(resources.get("CPU", 1)))
        workers = min(workers, len(chunks))
        per_actor = {"num_gpus": 1} if gpus else {"num_cpus": max(1.0, int(resources.get("CPU", 1)) // workers)}
        threads = max(1, int(per_actor.get("num_cpus", 1)))
        logger.info("Ray: {} chunks on {} actors ({}), cluster {}", len(chunks), workers, per_actor,
                    {k: v for k, v in resources.items() if k in ("CPU", "GPU", "memory")})
        rows = {number: (rows.start, rows.stop) for number, rows in chunks}
        dataset = ray.data.from_items([{"number": n} for n, _ in chunks], override_num_blocks=len(chunks))
        mapped = dataset.map_batches(
            _ChunkEmbedder, batch_size=1, batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=workers),
            fn_constructor_args=(self.make_embedder, self.settings, records, rows, spec.to_json(), local, read_names,
                                 cache_args, threads, elements is not None),
            **per_actor,
        )
        for row in mapped.iter_rows():
            yield int(row["number"]), bytes(row["data"]), int(row["count"]), int(row["hits"]), _fresh(row["fresh"])


    def run_tasks(self, fn: Callable, calls: list[tuple]) -> list:
        """``fn(*args)`` for each args tuple as Ray tasks (one CPU each); results in order; a failure raises."""
        ray = self._connect()
        remote = ray.remote(num_cpus=1)(fn)
        return ray.get([remote.remote(*args) for args in calls])


def _fresh(blob) -> list:
    import pickle

    return pickle.loads(bytes(blob))


class _ChunkEmbedder:
    """A Ray Data actor: one embedder per process, chunks in, encoded chunks out."""

    def __init__(self, make_embedder, settings, records, rows, spec_json: str, local, read_names: bool, cache_args,
                 threads: int, elements: bool = False):
        from logo_similarity.indexing.embedding import decode_pool
        from logo_similarity.preprocessing.elements import element_reader
        from logo_similarity.text.read_name import name_reader

        settings = settings.model_copy(update={
            "model": settings.model.model_copy(update={"threads": threads}),
            "text": settings.text.model_copy(update={"ocr_threads": threads}),
        })
        self.embedder = make_embedder()
        if self.embedder.spec.to_json() != spec_json:  # chunks of two models must never mix in one build
            raise RuntimeError("a Ray worker built an embedder unlike the driver's (model or settings differ)")
        self.settings, self.records, self.rows, self.local = settings, records, rows, local
        self.read_names = name_reader(settings, enabled=True) if read_names else None
        self.elements = element_reader(settings) if elements else None
        self.cache_args = cache_args
        self.pool_context = decode_pool(self.embedder, settings.index.workers)
        self.pool = self.pool_context.__enter__()

    def __call__(self, batch: dict) -> dict:
        import pickle

        import numpy as np

        from logo_similarity.indexing.chunks import encode_chunk
        from logo_similarity.indexing.embedding import Stage2Data, embed_chunk
        from logo_similarity.indexing.embedding_cache import EmbeddingCache

        out: dict[str, list] = {"number": [], "data": [], "count": [], "hits": [], "fresh": []}
        # opened per call: Ray runs calls on another thread than __init__, and SQLite connections stay in theirs
        cache = None if self.cache_args is None else EmbeddingCache(*self.cache_args)
        try:
            for number in batch["number"].tolist():
                start, stop = self.rows[number]
                chunk, hits, fresh = embed_chunk(self.records, range(start, stop), self.embedder,
                                                 self.settings.image, self.settings.model.batch_size, self.pool,
                                                 cache, Stage2Data(self.local, self.read_names, self.elements))
                for key, value in (("number", number), ("data", encode_chunk(chunk)),
                                   ("count", len(chunk.positions)), ("hits", hits), ("fresh", pickle.dumps(fresh))):
                    out[key].append(value)
        finally:
            if cache is not None:
                cache.close()
        return {k: np.array(v, dtype=object) if k in ("data", "fresh") else np.array(v) for k, v in out.items()}
