"""The Python API, which is also the CLI: each function here is registered as-is as a ``logo-sim`` command.

They return data (reports, results, metric dicts) and never print; ``logo_similarity.cli`` renders what they
return. Options are flat keywords (autofaiss style); ``config`` is a YAML file of settings overrides.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import typer
from loguru import logger

from logo_similarity.config import Settings, load_settings
from logo_similarity.datasets import DatasetError, read_dataset, write_rejects
from logo_similarity.datasets.mask import MaskReport, mask_dataset
from logo_similarity.datasets.prepare import PrepareReport, prepare_dataset
from logo_similarity.embeddings import load_embedder
from logo_similarity.embeddings.loading import embedder_for_spec
from logo_similarity.preprocessing import load_image
from logo_similarity.indexing import BuildReport, build_with_settings
from logo_similarity.retrieval import SearchIndex, SearchResult
from logo_similarity.indexing.chunks import WorkFolderMismatchError, remove_work_folder
from logo_similarity.retrieval.filters import ItemFilter
from logo_similarity.retrieval.store.lock import index_writer
from logo_similarity.retrieval.rollback import roll_back
from logo_similarity.search import Query, QueryError, run_query, search_image
from logo_similarity.indexing.update import UpdateReport, add_items, delete_items
from logo_similarity.text.read_name import name_reader
from logo_similarity.utils.logging import configure_logging

ModelOpt = Annotated[
    Optional[str],
    typer.Option("--model", help="ONNX file, .pt checkpoint, 'thumbnail' (baseline) or omitted for the default"),
]
ConfigOpt = Annotated[Optional[Path], typer.Option("--config", help="YAML settings file (see config/default.yaml)")]
PoolingOpt = Annotated[Optional[Literal["gem", "avg"]], typer.Option("--pooling", help="default model only")]
TextMaskOpt = Annotated[
    Optional[bool], typer.Option("--text-mask/--no-text-mask", help="mask text before embedding (default: config)")
]


def _settings(
    config: Path | None, pooling: str | None = None, text_mask: bool | None = None, **sections: dict[str, Any]
) -> Settings:
    overrides: dict[str, Any] = {k: v for k, v in sections.items() if v}
    if pooling:
        overrides.setdefault("model", {})["pooling"] = pooling
    if text_mask is not None:
        overrides.setdefault("text", {})["mask"] = text_mask
    settings = load_settings(config, overrides)
    configure_logging(settings.log_level)
    return settings


def prepare(
    dataset: Annotated[Path, typer.Argument(help="folder of images, or L3D metadata (.json list / .jsonl)")],
    out: Annotated[Path, typer.Option(help="folder for the checked metadata.jsonl and rejects.jsonl")],
    images_dir: Annotated[Optional[Path], typer.Option(help="base folder of L3D 'file' paths")] = None,
    config: ConfigOpt = None,
) -> PrepareReport:
    """Check every image of a dataset once; write clean L3D metadata (absolute paths) and the rejects."""
    settings = _settings(config)
    return prepare_dataset(read_dataset(dataset, images_dir), out, settings.image, settings.index.workers)


def mask(
    dataset: Annotated[Path, typer.Argument(help="folder of images, or L3D metadata (.json list / .jsonl)")],
    out: Annotated[Path, typer.Option(help="folder for masked images and their metadata.jsonl")],
    images_dir: Annotated[Optional[Path], typer.Option(help="base folder of L3D 'file' paths")] = None,
    recognize: Annotated[bool, typer.Option("--recognize/--no-recognize", help="also read the text")] = True,
    config: ConfigOpt = None,
) -> MaskReport:
    """Mask the text of every logo (OCR + inpainting); keep the recognised text and boxes."""
    settings = _settings(config)
    records = read_dataset(dataset, images_dir)
    cache = Path(settings.model.cache_dir).expanduser()
    return mask_dataset(records, out, settings.image, settings.text, cache, recognize)


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
    settings = _settings(config, pooling, text_mask)
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
    index_dir: Annotated[Optional[Path], typer.Option("--index", help="index folder")] = None,
    images_dir: Annotated[Optional[Path], typer.Option(help="base folder of L3D 'file' paths")] = None,
    config: ConfigOpt = None,
) -> UpdateReport:
    """Add items to a built index (new version, new ids), embedding them as the index was built."""
    settings = _settings(config)
    root = index_dir or Path(settings.index.dir)
    embedder = embedder_for_spec(None, SearchIndex.load(root).spec, settings)
    records = read_dataset(dataset, images_dir)
    return add_items(root, records, embedder, settings.image, settings.model.batch_size, settings.index.workers,
                     read_names=name_reader(settings), lock_timeout_s=settings.index.lock_timeout_s)


def delete(
    ids: Annotated[list[int], typer.Argument(help="item ids to delete")],
    index_dir: Annotated[Optional[Path], typer.Option("--index", help="index folder")] = None,
    config: ConfigOpt = None,
) -> UpdateReport:
    """Delete items from a built index by id (new version; ids are never reused)."""
    settings = _settings(config)
    return delete_items(index_dir or Path(settings.index.dir), ids, lock_timeout_s=settings.index.lock_timeout_s)


def rollback(
    index_dir: Annotated[Optional[Path], typer.Option("--index", help="index folder")] = None,
    to: Annotated[Optional[str], typer.Option(help="version name (default: the newest earlier one that loads)")] = None,
    config: ConfigOpt = None,
) -> Path:
    """Make an earlier version live again (after a bad change, or when the live version's files are corrupt)."""
    settings = _settings(config)
    root = index_dir or Path(settings.index.dir)
    with index_writer(root, "logo-sim rollback", settings.index.lock_timeout_s):
        return roll_back(root, to)


def search(
    image: Annotated[Optional[Path], typer.Argument(help="query logo image")] = None,
    text: Annotated[Optional[str], typer.Option(help="the mark's name: sound-alike search, or name score per result")] = None,
    index_dir: Annotated[Optional[Path], typer.Option("--index", help="index folder")] = None,
    k: Annotated[Optional[int], typer.Option(min=1, max=1000, help="number of results")] = None,
    model: ModelOpt = None,
    sheet: Annotated[Optional[Path], typer.Option(help="write an HTML result sheet here")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="write results as JSON here")] = None,
    nice: Annotated[Optional[str], typer.Option(help="only marks in any of these Nice classes, e.g. 9,42")] = None,
    vienna: Annotated[Optional[str], typer.Option(help="only marks with a code under this prefix, e.g. 27.05")] = None,
    year_from: Annotated[Optional[int], typer.Option(help="only marks filed in or after this year")] = None,
    year_to: Annotated[Optional[int], typer.Option(help="only marks filed in or before this year")] = None,
    config: ConfigOpt = None,
) -> list[SearchResult]:
    """Find the indexed marks that look like IMAGE and/or sound like --text."""
    if image is None and not text:
        raise typer.BadParameter("give a query IMAGE, --text NAME, or both")
    try:
        item_filter = ItemFilter(vienna, year_from, year_to, nice or frozenset())
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    settings = _settings(config)
    folder = index_dir or Path(settings.index.dir)
    loaded = SearchIndex.load(folder, mmap=settings.index.mmap)
    k = k or settings.search.k
    if image is None:
        try:
            results = run_query(loaded, None, Query(text=text, k=k, filter=item_filter), settings).results
        except QueryError as exc:
            raise typer.BadParameter(str(exc)) from exc
    else:
        embedder = embedder_for_spec(model, loaded.spec, settings)
        query = load_image(image, settings.image)
        results = search_image(loaded, embedder, query, k, settings, text, item_filter)
        if sheet:
            from logo_similarity.reporting import QueryReport, write_html_sheet

            write_html_sheet([QueryReport(str(image), query, results)], sheet)
    if json_out:
        json_out.write_text(json.dumps([r.__dict__ for r in results], indent=2))
    return results


def evaluate(
    bench: Annotated[Optional[Path], typer.Option(help="LogoBench-format folder (gallery.jsonl, queries.jsonl)")] = None,
    vienna: Annotated[Optional[Path], typer.Option(help="L3D metadata: Vienna level-2 codes as ground truth")] = None,
    model: ModelOpt = None,
    pooling: PoolingOpt = None,
    task: Annotated[Optional[list[str]], typer.Option(help="only these tasks (repeatable)")] = None,
    text_mask: TextMaskOpt = None,
    max_queries: Annotated[int, typer.Option(help="queries sampled for --vienna")] = 1000,
    rerank: Annotated[Optional[bool], typer.Option("--rerank/--no-rerank", help="stage-2 re-ranking (default: config)")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="write the report as JSON here")] = None,
    config: ConfigOpt = None,
) -> dict[str, Any]:
    """Measure retrieval quality: recall@k, mAP@100 per task, latency p50/p99 (and NAR for --vienna)."""
    if (bench is None) == (vienna is None):
        raise typer.BadParameter("give exactly one of --bench or --vienna")
    settings = _settings(config, pooling, text_mask)
    embedder = load_embedder(model, settings)
    if bench is not None:
        from logo_similarity.evaluation import evaluate_logobench

        report = evaluate_logobench(bench, embedder, settings, tasks=task, rerank=rerank)
    else:
        from logo_similarity.evaluation import evaluate_vienna

        report = evaluate_vienna(vienna, embedder, settings, max_queries=max_queries)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report, indent=2))
    return report


def export(
    out: Annotated[Path, typer.Option(help="ONNX file to write (its weights file .onnx.<token>.data goes beside it)")],
    checkpoint: Annotated[Optional[Path], typer.Option(help=".pt checkpoint (default: ImageNet weights)")] = None,
    fp16: Annotated[bool, typer.Option("--fp16", help="also write OUT with .fp16.onnx: FP16 weights for GPU serving")] = False,
    single_file: Annotated[bool, typer.Option("--single-file", help="weights inside the .onnx (no .data file)")] = False,
    pooling: PoolingOpt = None,
    config: ConfigOpt = None,
) -> Path:
    """Export the feature extractor to ONNX, with its model spec in the file's metadata; parity-checked."""
    from logo_similarity.embeddings.model import build_pretrained_extractor, load_checkpoint
    from logo_similarity.embeddings.onnx_export import export_with_parity

    settings = _settings(config, pooling)
    extractor = load_checkpoint(checkpoint) if checkpoint else build_pretrained_extractor(settings.model, settings.image)
    return export_with_parity(extractor, out, fp16=fp16, single_file=single_file)


def serve(
    index_dir: Annotated[Optional[Path], typer.Option("--index", help="index folder (default: settings index.dir)")] = None,
    host: Annotated[Optional[str], typer.Option(help="address to listen on (default: settings api.host)")] = None,
    port: Annotated[Optional[int], typer.Option(min=0, max=65535, help="port (default: settings api.port)")] = None,
    model: ModelOpt = None,
    dev: Annotated[bool, typer.Option("--dev", help="dev mode: allow no or a weak API key (never in production)")] = False,
    config: ConfigOpt = None,
) -> None:
    """Serve the search API and page (uvicorn). The API key comes from LOGO_SIM__API__API_KEY."""
    import uvicorn

    from logo_similarity.api import create_app
    from logo_similarity.retrieval.index import IndexNotFoundError
    from logo_similarity.retrieval.store.versions import live_version

    api = {"host": host, "port": port, "dev_mode": dev}
    settings = _settings(config, api={k: v for k, v in api.items() if v is not None and v is not False})
    root = index_dir or Path(settings.index.dir)
    if not (live_version(root) / "manifest.json").is_file():
        raise IndexNotFoundError(f"no index at {root}; build one with `logo-sim index DATASET --out {root}`")
    app = create_app(settings, index_dir=root, model=model)
    logger.info("serving {} on http://{}:{}", root, settings.api.host, settings.api.port)
    uvicorn.run(app, host=settings.api.host, port=settings.api.port, log_level=settings.log_level.lower(),
                timeout_graceful_shutdown=10)


def dataset_build(
    sources: Annotated[list[Path], typer.Argument(help="ST.66 XML files, zips of them, or folders")],
    out: Annotated[Path, typer.Option(help="output folder (metadata.jsonl, images/, rejects.jsonl, report/)")],
    images: Annotated[Optional[Path], typer.Option(help="folder of the mark images (default: beside the XML)")] = None,
    side: Annotated[int, typer.Option(min=32, max=2048, help="image side in pixels")] = 256,
    batch: Annotated[int, typer.Option(min=1, help="records per checkpoint (a resume redoes at most these)")] = 256,
    config: ConfigOpt = None,
):
    """Build an L3D-format dataset from trademark XML (WIPO ST.66, as EUIPO publishes it); resumable."""
    from logo_similarity.classification import load_vienna
    from logo_similarity.datasets.l3d_builder import build_dataset

    missing = [str(s) for s in sources if not s.exists()]
    if missing:
        raise DatasetError(f"no such source: {', '.join(missing)}")
    settings = _settings(config)
    return build_dataset(sources, out, images, side, settings.image, batch,
                         load_vienna(settings.classification.vienna_file))
