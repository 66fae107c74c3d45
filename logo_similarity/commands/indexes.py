"""Index commands: build one (``index``), change it (``add``, ``delete``), undo a change (``rollback``)."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated, Literal, Optional

import typer
from loguru import logger

from logo_similarity.commands.options import ConfigOpt, IndexOpt, ModelOpt, PoolingOpt, TextMaskOpt, command_settings
from logo_similarity.datasets import read_dataset, write_rejects
from logo_similarity.embeddings import load_embedder
from logo_similarity.embeddings.loading import embedder_for_spec
from logo_similarity.indexing import BuildReport, build_with_settings
from logo_similarity.indexing.chunks import remove_work_folder
from logo_similarity.indexing.update import UpdateReport, add_items, delete_items
from logo_similarity.retrieval import SearchIndex
from logo_similarity.retrieval.rollback import roll_back
from logo_similarity.retrieval.store.lock import index_writer
from logo_similarity.preprocessing.elements import element_reader
from logo_similarity.text.read_name import name_reader


def index(
    dataset: Annotated[Path, typer.Argument(help="folder of images, or L3D metadata (.json list / .jsonl)")],
    out: Annotated[Optional[Path], typer.Option(help="index folder (default: settings index.dir)")] = None,
    images_dir: Annotated[Optional[Path], typer.Option(help="base folder of L3D 'file' paths")] = None,
    model: ModelOpt = None,
    pooling: PoolingOpt = None,
    text_mask: TextMaskOpt = None,
    work: Annotated[Optional[Path], typer.Option(help="chunk folder for resuming (default: beside the index)")] = None,
    chunk_size: Annotated[Optional[int], typer.Option(min=1, help="images per crash-safe chunk")] = None,
    engine: Annotated[Optional[Literal["local", "ray"]], typer.Option(help="embed here, or on a Ray cluster")] = None,
    address: Annotated[Optional[str], typer.Option(help="Ray cluster: 'auto', 'ray://host:10001' (default: start one)")] = None,
    num_workers: Annotated[Optional[int], typer.Option(min=1, help="Ray embedding actors (default: per GPU/CPU)")] = None,
    config: ConfigOpt = None,
) -> BuildReport:
    """Embed a dataset and save a searchable index (unreadable images go to rejects.jsonl).

    An interrupted build (even kill -9) resumes where it stopped when run again with the same arguments.
    """
    settings = command_settings(config, pooling, text_mask)
    records = read_dataset(dataset, images_dir)
    embedder = load_embedder(model, settings)
    target = out or Path(settings.index.dir)
    work = work or target.with_name(f".{target.name}.work")
    cache = target.with_name(f".{target.name}.embeddings.sqlite")
    changes = {"chunk_size": chunk_size, "engine": engine, "ray_address": address, "num_workers": num_workers}
    settings = settings.model_copy(update={"index": settings.index.model_copy(
        update={k: v for k, v in changes.items() if v is not None})})
    built, report = build_with_settings(records, embedder, settings, work=work, cache=cache,
                                        make_embedder=partial(load_embedder, model, settings))
    with index_writer(target, "logo-sim index", settings.index.lock_timeout_s):
        folder = built.save(target)
        write_rejects(report.rejects, folder / "rejects.jsonl")
    # The build is complete: its chunks must not be "resumed" by a later build of the same file list, whose
    # images may have changed since (a rebuild reuses unchanged images through the embedding cache instead).
    remove_work_folder(work)  # only the build's own files: --work may name a folder the user cares about
    logger.info(
        "indexed {} images ({} rejected, {} embeddings reused) in {:.1f}s, {:.1f} img/s -> {}",
        report.items, len(report.rejects), report.cached, report.seconds, report.images_per_s, folder,
    )
    return report


def add(
    dataset: Annotated[Path, typer.Argument(help="folder of images, or L3D metadata of the items to add")],
    index_dir: IndexOpt = None,
    images_dir: Annotated[Optional[Path], typer.Option(help="base folder of L3D 'file' paths")] = None,
    config: ConfigOpt = None,
) -> UpdateReport:
    """Add items to a built index (new version, new ids), embedding them as the index was built."""
    settings = command_settings(config)
    root = index_dir or Path(settings.index.dir)
    embedder = embedder_for_spec(None, SearchIndex.load(root).spec, settings)
    records = read_dataset(dataset, images_dir)
    return add_items(root, records, embedder, settings.image, settings.model.batch_size, settings.index.workers,
                     read_names=name_reader(settings), lock_timeout_s=settings.index.lock_timeout_s,
                     elements=element_reader(settings))


def delete(
    ids: Annotated[list[int], typer.Argument(help="item ids to delete")],
    index_dir: IndexOpt = None,
    config: ConfigOpt = None,
) -> UpdateReport:
    """Delete items from a built index by id (new version; ids are never reused)."""
    settings = command_settings(config)
    return delete_items(index_dir or Path(settings.index.dir), ids, lock_timeout_s=settings.index.lock_timeout_s)


def rollback(
    index_dir: IndexOpt = None,
    to: Annotated[Optional[str], typer.Option(help="version name (default: the newest earlier one that loads)")] = None,
    config: ConfigOpt = None,
) -> Path:
    """Make an earlier version live again (after a bad change, or when the live version's files are corrupt)."""
    settings = command_settings(config)
    root = index_dir or Path(settings.index.dir)
    with index_writer(root, "logo-sim rollback", settings.index.lock_timeout_s):
        return roll_back(root, to)

