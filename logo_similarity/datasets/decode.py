"""Decoding + normalisation as a worker-process task. Kept in a light module: a spawned worker imports only
this (PIL, numpy, settings), not torch or onnxruntime."""

from __future__ import annotations

from logo_similarity.config import ImageSettings
from logo_similarity.datasets.records import LogoRecord, reject_entry
from logo_similarity.preprocessing.loader import ImageLoadError, load_image
from logo_similarity.preprocessing.normalize import to_model_input
from logo_similarity.preprocessing.pipeline import PreparedLogo


def prepare_plain(record: LogoRecord, spec, image_settings: ImageSettings) -> tuple[PreparedLogo | None, dict | None]:
    """(model input, None) or (None, reject entry) for one record; no text masking."""
    try:
        return PreparedLogo(to_model_input(load_image(record.path, image_settings), spec)), None
    except ImageLoadError as exc:
        return None, reject_entry(record, exc)
