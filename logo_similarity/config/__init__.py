from logo_similarity.config.settings import (
    EvalSettings,
    ImageSettings,
    IndexSettings,
    ModelSettings,
    SearchSettings,
    Settings,
    TextSettings,
    load_settings,
)

__all__ = [
    "EvalSettings",
    "ImageSettings",
    "IndexSettings",
    "ModelSettings",
    "SearchSettings",
    "Settings",
    "TextSettings",
    "load_settings",
]
