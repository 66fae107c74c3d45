"""Embedding records for an index: decode in a pool, preprocess, embed (with local features and names read by
OCR when the build stores them). Unreadable images come back as rejects, never as blank vectors.

``embed_chunk`` is one chunk of a build, cache hits reused: the local engine and the Ray engine's actors both
call it, so both leave the same chunk files.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from loguru import logger
from tqdm import tqdm

from logo_similarity.config import ImageSettings
from logo_similarity.datasets import LogoRecord, reject_entry
from logo_similarity.datasets.decode import prepare_plain
from logo_similarity.embeddings import Embedder
from logo_similarity.indexing.chunks import Chunk
from logo_similarity.indexing.embedding_cache import CachedItem, EmbeddingCache
from logo_similarity.preprocessing import ImageLoadError, load_image
from logo_similarity.utils.fs import file_sha256


@dataclass
class EmbeddedBatch:
    positions: list[int]
    vectors: np.ndarray
    rejects: list[dict]
    ocr: list = field(default_factory=list)  # OcrResult per position when text masking ran
    cells: np.ndarray | None = None  # (n, P, D) float16 local features, when asked for
    ink: np.ndarray | None = None  # (n, P) float32 ink share per cell
    names: list = field(default_factory=list)  # ReadName | None per position: text read from unnamed marks
    elements: list = field(default_factory=list)  # Elements | None per position, when the build splits marks
    figures: np.ndarray | None = None  # (n, dim) figure vectors, NaN rows for marks without a figure


@dataclass(frozen=True)
class Stage2Data:
    """What a build stores for re-ranking: local features made with ``local`` (a ``LocalProjection``), with
    ``read_names`` (a ``NameReader``) the text OCR reads from marks that have no name, and with ``elements``
    (an ``ElementReader``) each mark's kind, words and, for composites, the figure's vector."""

    local: Any = None
    read_names: Any = None
    elements: Any = None

    def fingerprint(self) -> str:
        """Part of a build's identity: chunks made with other stage-2 data are not resumed."""
        base = f"local={self.local.fingerprint() if self.local else None};names={self.read_names is not None}"
        return base + (f";elements={self.elements_key()}" if self.elements is not None else "")

    def elements_key(self) -> str | None:
        """What the figure vectors depend on besides the model (the split's and the OCR's settings)."""
        if self.elements is None:
            return None
        return self.elements.elements.model_dump_json() + self.elements.text.model_dump_json()


def stage2_data(embedder: Embedder, settings) -> Stage2Data:
    """What an index build stores for re-ranking under these settings (a ``Settings``: its ``rerank`` section,
    and the model's cache and OCR settings for the projection and the name reader)."""
    from logo_similarity.embeddings.local import local_projection_for
    from logo_similarity.preprocessing.elements import element_reader
    from logo_similarity.text.read_name import name_reader

    rerank = settings.rerank
    local = None
    if rerank.local_features and getattr(embedder, "has_local", False):
        local = local_projection_for(embedder, rerank.local_dim, settings.model.cache_dir)
    elif rerank.local_features:
        logger.warning("{} gives no local features: the index will have no spatial re-ranking", embedder.spec.arch)
    return Stage2Data(local, name_reader(settings), element_reader(settings))


def _prepare(record: LogoRecord, embedder: Embedder, image_settings: ImageSettings, read_names=None, elements=None):
    """(prepared logo, reject, read name, elements, prepared figure) of one record."""
    try:
        image = load_image(record.path, image_settings)
    except ImageLoadError as exc:
        return None, reject_entry(record, exc), None, None, None
    recognize = read_names is not None and not record.text
    if elements is None:
        return embedder.preprocess(image), None, read_names(image) if recognize else None, None, None
    # one OCR pass: the split's boxes, and the words when the mark has no name
    parts = elements(image, recognize=recognize)
    name = read_names.from_ocr(parts.read) if recognize else None
    figure = embedder.preprocess(parts.figure).array if parts.figure is not None else None
    return embedder.preprocess(image), None, name, parts, figure


@contextmanager
def decode_pool(embedder: Embedder, workers: int, processes: bool = False) -> Iterator[Executor]:
    """Threads for decoding (PIL releases the GIL), or, when asked and preprocessing needs no models (text
    masking off), worker processes. On 2 cores threads measured faster (112 vs 93 img/s on 2,000 logos):
    inference is the bottleneck and processes add copies; processes pay off with more cores.

    Processes are spawned, not forked: forking a process whose onnxruntime/torch thread pools are running
    can deadlock the child.
    """
    if processes and workers > 1 and embedder.spec.text_mask == "off":
        pool: Executor = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    else:
        pool = ThreadPoolExecutor(max(1, workers))
    with pool:
        yield pool


def embed_records(
    records: list[LogoRecord],
    embedder: Embedder,
    image_settings: ImageSettings,
    batch_size: int = 32,
    workers: int = 2,
    desc: str = "embedding",
    progress: bool = True,
    pool: Executor | None = None,
    local=None,
    read_names=None,
    elements=None,
) -> Iterator[EmbeddedBatch]:
    """Embed records batch by batch; positions index into ``records``; unreadable ones come back as rejects.

    Decoding runs in ``pool`` (see ``decode_pool``), overlapping with inference; one is made when not given.
    With ``local`` (a ``LocalProjection``) each batch also carries local features; with ``read_names`` (a
    ``NameReader``) the text of records without a name is read by OCR; with ``elements`` (an ``ElementReader``)
    each batch carries every mark's elements and the figure vectors of the composites.
    """
    with ExitStack() as stack:
        if pool is None:
            pool = stack.enter_context(decode_pool(embedder, workers))
        yield from _embed_batches(records, embedder, image_settings, batch_size, pool, desc, progress, local,
                                  read_names, elements)


def _embed_batches(records, embedder, image_settings, batch_size, pool, desc, progress, local=None,
                   read_names=None, elements=None) -> Iterator[EmbeddedBatch]:
    from logo_similarity.embeddings.local import ink_grid

    in_processes = isinstance(pool, ProcessPoolExecutor) and read_names is None and elements is None
    with tqdm(total=len(records), desc=desc, unit="img", disable=None if progress else True) as bar:
        for offset in range(0, len(records), batch_size):
            chunk = records[offset : offset + batch_size]
            if in_processes:
                n = len(chunk)
                prepared = [(*p, None, None, None)
                            for p in pool.map(prepare_plain, chunk, [embedder.spec] * n, [image_settings] * n)]
            else:
                prepared = list(pool.map(lambda r: _prepare(r, embedder, image_settings, read_names, elements), chunk))
            arrays, positions, rejects, ocr, names, parts, figures = [], [], [], [], [], [], []
            for position, (logo, reject, name, split, figure) in enumerate(prepared, start=offset):
                if reject is not None:
                    rejects.append(reject)
                    logger.warning("rejected {}: {}", reject["file"], reject["message"])
                else:
                    arrays.append(logo.array)
                    positions.append(position)
                    ocr.append(logo.ocr)
                    names.append(name)
                    parts.append(split)
                    figures.append(figure)
            cells = ink = None
            if not arrays:
                vectors = np.zeros((0, embedder.spec.dim), "f4")
            elif local is not None:
                batch = np.stack(arrays)
                vectors, maps = embedder.embed_local(batch)
                cells, ink = local(maps).astype(np.float16), ink_grid(batch, maps.shape[-1])
            else:
                vectors = embedder.embed_batch(np.stack(arrays))
            figure_vectors = _figure_vectors(embedder, figures) if elements is not None else None
            bar.update(len(chunk))
            yield EmbeddedBatch(positions, vectors, rejects, ocr, cells, ink, names, parts, figure_vectors)


def _figure_vectors(embedder: Embedder, figures: list) -> np.ndarray:
    """(n, dim) embeddings of the prepared figures, NaN rows where a mark has none."""
    out = np.full((len(figures), embedder.spec.dim), np.nan, np.float32)
    rows = [r for r, f in enumerate(figures) if f is not None]
    if rows:
        out[rows] = embedder.embed_batch(np.stack([figures[r] for r in rows]))
    return out


def extra_metadata(ocr) -> dict:
    """Metadata found while preprocessing one item (text boxes when masking ran)."""
    if ocr is None:
        return {}
    return {"text_boxes": [list(b) for b in ocr.boxes] + [[c for p in poly for c in p] for poly in ocr.polygons]}


def ocr_name_fields(name) -> dict:
    """What an index stores of a name read by OCR (a ``ReadName``): the text and how sure OCR was of it (the
    lowest word confidence), which ``logo-sim names review`` sorts the reviewer's sheet by."""
    return {"ocr_text": name.text, "ocr_confidence": round(float(name.confidence), 4)}


def local_grid(embedder: Embedder, local) -> int:
    """Side of the grid of local features ``local`` makes from this embedder's feature map."""
    return embedder.spec.input_size // local.stride


def local_cells(embedder: Embedder, local) -> int:
    """Grid cells per image of those local features."""
    return local_grid(embedder, local) ** 2


def embed_chunk(records: list[LogoRecord], rows: range, embedder: Embedder, image_settings: ImageSettings,
                batch_size: int, pool: Executor, cache: EmbeddingCache | None,
                stage2: Stage2Data = Stage2Data()) -> tuple[Chunk, int, list]:
    """Embeddings of one chunk's rows of ``records`` (cache hits reused, the rest computed).

    Returns the chunk, the number of cache hits and the fresh (sha256, item) pairs for the caller to cache:
    the caller, not a Ray worker, is the one writer of the cache.
    """
    local = stage2.local
    digests = {r: _sha256(records[r].path) for r in rows}
    hits = cache.get([d for d in digests.values() if d]) if cache else {}
    found: dict[int, CachedItem] = {r: hits[d] for r, d in digests.items() if d in hits}
    todo = [r for r in rows if r not in found]
    rejects, fresh = [], []
    for batch in embed_records([records[r] for r in todo], embedder, image_settings, batch_size, progress=False,
                               pool=pool, local=local, read_names=stage2.read_names, elements=stage2.elements):
        rejects += batch.rejects
        for n, (p, vector, ocr, name) in enumerate(zip(batch.positions, batch.vectors, batch.ocr, batch.names)):
            row = todo[p]
            extra = {**extra_metadata(ocr), "source_sha256": digests[row]}
            if name is not None:
                extra.update(ocr_name_fields(name))
            item = CachedItem(vector, extra)
            if local is not None:
                item.cells, item.ink = batch.cells[n], batch.ink[n]
            if stage2.elements is not None:
                extra["elements"] = batch.elements[n].describe()
                item.figure = batch.figures[n]
            found[row] = item
            fresh.append((digests[row], item))
    ordered = sorted(found)
    vectors = np.stack([found[r].vector for r in ordered]) if ordered else np.zeros((0, embedder.spec.dim), np.float32)
    chunk = Chunk(np.asarray(ordered, dtype=np.int64), vectors, rejects, [found[r].extra for r in ordered])
    if local is not None:
        shape = (local_cells(embedder, local), local.dim)
        chunk.cells = np.stack([found[r].cells for r in ordered]) if ordered else np.zeros((0, *shape), np.float16)
        chunk.ink = np.stack([found[r].ink for r in ordered]) if ordered else np.zeros((0, shape[0]), np.float32)
    if stage2.elements is not None:
        chunk.figures = (np.stack([found[r].figure for r in ordered]) if ordered
                         else np.zeros((0, embedder.spec.dim), np.float32))
    return chunk, len(rows) - len(todo), [entry for entry in fresh if entry[0]]


def _sha256(path: Path) -> str | None:
    """Content hash of a source image; None when it cannot be read (the decoder will reject it with a reason)."""
    try:
        return file_sha256(path)
    except OSError:
        return None
