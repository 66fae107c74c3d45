"""``serve``: the search API and page under uvicorn; ``export``: the embedder as an ONNX file for serving."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from loguru import logger

from logo_similarity.commands.options import ConfigOpt, ModelOpt, PoolingOpt, command_settings


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
    settings = command_settings(config, api={k: v for k, v in api.items() if v is not None and v is not False})
    root = index_dir or Path(settings.index.dir)
    if not (live_version(root) / "manifest.json").is_file():
        raise IndexNotFoundError(f"no index at {root}; build one with `logo-sim index DATASET --out {root}`")
    app = create_app(settings, index_dir=root, model=model)
    logger.info("serving {} on http://{}:{}", root, settings.api.host, settings.api.port)
    uvicorn.run(app, host=settings.api.host, port=settings.api.port, log_level=settings.log_level.lower(),
                timeout_graceful_shutdown=10)


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

    settings = command_settings(config, pooling)
    extractor = load_checkpoint(checkpoint) if checkpoint else build_pretrained_extractor(settings.model, settings.image)
    return export_with_parity(extractor, out, fp16=fp16, single_file=single_file)

