from logo_similarity.config.settings import (
    EvalSettings,
    ImageSettings,
    IndexSettings,
    ModelSettings,
    SearchSettings,
    Settings,
    load_settings,
)

__all__ = [
    "EvalSettings",
    "ImageSettings",
    "IndexSettings",
    "ModelSettings",
    "SearchSettings",
    "Settings",
    "load_settings",
]
