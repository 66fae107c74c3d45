"""One typed settings tree. Defaults live in its sections; YAML files and env vars override them.

Precedence (lowest first): field defaults < YAML file(s) < environment (``LOGO_SIM__SECTION__FIELD``)
< explicit overrides (CLI flags). ``config/default.yaml`` mirrors the defaults and a test keeps the two equal.
Sections: ``sections.py`` (the pipeline's stages) and ``service_sections.py`` (API, evaluation, training, watch).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from logo_similarity.config.sections import (
    _Section,
    ImageSettings,
    ModelSettings,
    TextSettings,
    ElementSettings,
    IndexSettings,
    SearchSettings,
    RerankSettings,
    CalibrationSettings,
)
from logo_similarity.config.service_sections import (
    ApiSettings,
    EvalSettings,
    TrainSettings,
    ClassificationSettings,
    WatchSettings,
)

ENV_PREFIX = "LOGO_SIM__"
CONFIG_ENV = "LOGO_SIM_CONFIG"


class Settings(_Section):
    image: ImageSettings = ImageSettings()
    model: ModelSettings = ModelSettings()
    text: TextSettings = TextSettings()
    elements: ElementSettings = ElementSettings()
    index: IndexSettings = IndexSettings()
    search: SearchSettings = SearchSettings()
    rerank: RerankSettings = RerankSettings()
    api: ApiSettings = ApiSettings()
    eval: EvalSettings = EvalSettings()
    train: TrainSettings = TrainSettings()
    classification: ClassificationSettings = ClassificationSettings()
    watch: WatchSettings = WatchSettings()
    calibration: CalibrationSettings = CalibrationSettings()
    log_level: Literal["TRACE", "DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class ConfigError(ValueError):
    """A config file or override is malformed or has an invalid value."""


def _deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    """``LOGO_SIM__MODEL__POOLING=avg`` -> ``{"model": {"pooling": "avg"}}``; values parsed as YAML scalars."""
    tree: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX) :].split("__") if part]
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = yaml.safe_load(raw) if raw else raw
    return tree


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    return data


def load_settings(
    config: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Build the settings tree from defaults, a YAML file, the environment and explicit overrides."""
    environ = dict(os.environ) if environ is None else environ
    merged: dict[str, Any] = {}
    path = config or environ.get(CONFIG_ENV)
    if path:
        merged = _read_yaml(Path(path))
    merged = _deep_merge(merged, _env_overrides(environ))
    merged = _deep_merge(merged, overrides or {})
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(f"invalid settings: {exc}") from exc
