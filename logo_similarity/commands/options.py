"""What every command shares: its options (typer annotations) and how it reads its settings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import typer

from logo_similarity.config import Settings, load_settings
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


def command_settings(
    config: Path | None, pooling: str | None = None, text_mask: bool | None = None, **sections: dict[str, Any]
) -> Settings:
    """The settings of one command run: ``config`` (a YAML file) over the defaults, then the command's own
    options (``pooling``, ``text_mask``, whole ``sections`` of overrides); logging configured from them."""
    overrides: dict[str, Any] = {k: v for k, v in sections.items() if v}
    if pooling:
        overrides.setdefault("model", {})["pooling"] = pooling
    if text_mask is not None:
        overrides.setdefault("text", {})["mask"] = text_mask
    settings = load_settings(config, overrides)
    configure_logging(settings.log_level)
    return settings


IndexOpt = Annotated[Optional[Path], typer.Option("--index", help="index folder")]
