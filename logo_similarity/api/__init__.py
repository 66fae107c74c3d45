"""HTTP API: ``create_app(settings)``, served by ``logo-sim serve``."""

from logo_similarity.api.app import create_app

__all__ = ["create_app"]
