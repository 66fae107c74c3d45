"""Incremental updates of a built index: add items, delete items, without a full rebuild.

An update loads the live version, changes it in memory and saves it as a new version; ``current`` moves only
after the new version is completely on disk. A crash at any point therefore leaves either the old index or
the updated one, with ids, vectors and metadata consistent (they live in one version folder). New items get
ids above every id ever live, so existing ids stay stable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from logo_similarity.config import ImageSettings
from logo_similarity.datasets import LogoRecord
from logo_similarity.embeddings import Embedder
from logo_similarity.indexing.embedding import embed_records, extra_metadata, ocr_name_fields
from logo_similarity.retrieval.index import SearchIndex
from logo_similarity.retrieval.store.lock import index_writer


@dataclass
class UpdateReport:
    added: list[int] = field(default_factory=list)
    removed: int = 0
    rejects: list[dict] = field(default_factory=list)
    version: Path | None = None


def add_items(root: Path, records: list[LogoRecord], embedder: Embedder, image: ImageSettings,
              batch_size: int = 32, workers: int = 2, read_names=None, lock_timeout_s: float = 300.0,
              elements=None) -> UpdateReport:
    """Embed and add ``records``; local features with the index's own projection when it stores them, and with
    ``elements`` (an ``ElementReader``) each mark's elements, its figure stored when the index stores figures.

    The whole load - add - save holds the index's write lock (retrieval/store/lock.py), so a concurrent writer's
    change is never lost.
    """
    with index_writer(root, f"adding {len(records)} items", lock_timeout_s):
        return add_items_locked(root, records, embedder, image, batch_size, workers, read_names, elements=elements)


def add_items_locked(root, records, embedder, image, batch_size=32, workers=2, read_names=None,
                     progress=None, elements=None) -> UpdateReport:
    """``add_items`` for a caller that already holds the index's write lock; ``progress(done, total)`` is called
    after each embedded batch (a job's progress; it may raise to stop before anything is saved)."""
    index = SearchIndex.load(root, expected_spec=embedder.spec)
    report = UpdateReport()
    first = index.next_id()
    local = index.local.projection if index.local is not None else None
    # marks added later are cut as the index's figures were
    elements = elements.cutting_as(index.figures.split) if elements is not None and index.figures is not None else None
    for batch in embed_records(records, embedder, image, batch_size, workers, desc="adding", local=local,
                               read_names=read_names, elements=elements):
        report.rejects += batch.rejects
        if batch.positions:
            ids = np.asarray([first + p for p in batch.positions], dtype=np.int64)
            metas = [{**records[p].to_metadata(), **extra_metadata(o), **(ocr_name_fields(n) if n else {})}
                     for p, o, n in zip(batch.positions, batch.ocr, batch.names or [None] * len(batch.positions))]
            if elements is not None:
                for meta, parts in zip(metas, batch.elements):
                    meta["elements"] = parts.describe()
            index.add(ids, batch.vectors, metas, batch.cells, batch.ink, batch.figures)
            report.added += ids.tolist()
        if progress is not None:
            progress(len(report.added) + len(report.rejects), len(records))
    report.version = index.save(root)
    return report


def delete_items(root: Path, ids: list[int], lock_timeout_s: float = 300.0) -> UpdateReport:
    with index_writer(root, f"deleting {len(ids)} items", lock_timeout_s):
        return delete_items_locked(root, ids)


def delete_items_locked(root: Path, ids: list[int]) -> UpdateReport:
    index = SearchIndex.load(root)
    report = UpdateReport(removed=index.remove(ids))
    report.version = index.save(root)
    return report

