from logo_similarity.config.settings import (
    ApiSettings,
    ClassificationSettings,
    EvalSettings,
    ImageSettings,
    IndexSettings,
    ModelSettings,
    RerankSettings,
    SearchSettings,
    Settings,
    TextSettings,
    TrainSettings,
    load_settings,
)

__all__ = [
    "ApiSettings",
    "ClassificationSettings",
    "EvalSettings",
    "ImageSettings",
    "IndexSettings",
    "ModelSettings",
    "RerankSettings",
    "SearchSettings",
    "Settings",
    "TextSettings",
    "TrainSettings",
    "load_settings",
]
