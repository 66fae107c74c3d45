"""Build an index from a dataset: load, normalise, embed, add. Unreadable images are rejected, not fatal."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from loguru import logger
from tqdm import tqdm

from logo_similarity.config import ImageSettings
from logo_similarity.datasets import LogoRecord, reject_entry, write_rejects
from logo_similarity.embeddings import Embedder
from logo_similarity.preprocessing import ImageLoadError, load_image
from logo_similarity.retrieval.index import SearchIndex

__all__ = ["BuildReport", "EmbeddedBatch", "build_index", "embed_records", "write_rejects"]


@dataclass
class BuildReport:
    items: int = 0
    rejects: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def images_per_s(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0


@dataclass
class EmbeddedBatch:
    positions: list[int]
    vectors: np.ndarray
    rejects: list[dict]
    ocr: list = field(default_factory=list)  # OcrResult per position when text masking ran


def _prepare(record: LogoRecord, embedder: Embedder, image_settings: ImageSettings):
    try:
        return embedder.preprocess(load_image(record.path, image_settings)), None
    except ImageLoadError as exc:
        return None, reject_entry(record, exc)


def embed_records(
    records: list[LogoRecord],
    embedder: Embedder,
    image_settings: ImageSettings,
    batch_size: int = 32,
    workers: int = 2,
    desc: str = "embedding",
) -> Iterator[EmbeddedBatch]:
    """Embed records batch by batch; positions index into ``records``; unreadable ones come back as rejects."""
    # PIL releases the GIL while decoding and resizing, so threads overlap image loading with inference.
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool, tqdm(
        total=len(records), desc=desc, unit="img", disable=None
    ) as bar:
        for offset in range(0, len(records), batch_size):
            chunk = records[offset : offset + batch_size]
            prepared = list(pool.map(lambda r: _prepare(r, embedder, image_settings), chunk))
            arrays, positions, rejects, ocr = [], [], [], []
            for position, (logo, reject) in enumerate(prepared, start=offset):
                if reject is not None:
                    rejects.append(reject)
                    logger.warning("rejected {}: {}", reject["file"], reject["message"])
                else:
                    arrays.append(logo.array)
                    positions.append(position)
                    ocr.append(logo.ocr)
            vectors = embedder.embed_batch(np.stack(arrays)) if arrays else np.zeros((0, embedder.spec.dim), "f4")
            bar.update(len(chunk))
            yield EmbeddedBatch(positions, vectors, rejects, ocr)


def build_index(
    records: list[LogoRecord],
    embedder: Embedder,
    image_settings: ImageSettings,
    batch_size: int = 32,
    workers: int = 2,
) -> tuple[SearchIndex, BuildReport]:
    """Embed every readable record into a new in-memory index; ids are positions in ``records``."""
    index = SearchIndex(embedder.spec)
    report = BuildReport()
    start = time.perf_counter()
    for batch in embed_records(records, embedder, image_settings, batch_size, workers, desc="indexing"):
        report.rejects.extend(batch.rejects)
        if batch.positions:
            metas = [_metadata(records[p], o) for p, o in zip(batch.positions, batch.ocr)]
            index.add(np.asarray(batch.positions), batch.vectors, metas)
    report.items = len(index)
    report.seconds = time.perf_counter() - start
    return index, report


def _metadata(record: LogoRecord, ocr) -> dict:
    meta = record.to_metadata()
    if ocr is not None:
        meta["text_boxes"] = [list(b) for b in ocr.boxes] + [[c for p in poly for c in p] for poly in ocr.polygons]
    return meta
