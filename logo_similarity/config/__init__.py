from logo_similarity.config.settings import (
    ApiSettings,
    EvalSettings,
    ImageSettings,
    IndexSettings,
    ModelSettings,
    RerankSettings,
    SearchSettings,
    Settings,
    TextSettings,
    load_settings,
)

__all__ = [
    "ApiSettings",
    "EvalSettings",
    "ImageSettings",
    "IndexSettings",
    "ModelSettings",
    "RerankSettings",
    "SearchSettings",
    "Settings",
    "TextSettings",
    "load_settings",
]
