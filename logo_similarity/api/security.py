"""API keys: mutating endpoints always need one; read endpoints when ``api.read_requires_key``.

The key comes from the environment or a config file (``LOGO_SIM__API__API_KEY``), never from the repository.
The service refuses to start without a key, or with a short or well-known one, unless ``api.dev_mode`` is on.
"""

from __future__ import annotations

import secrets

from fastapi import Security
from fastapi.security import APIKeyHeader
from loguru import logger

from logo_similarity.api.errors import ServiceError
from logo_similarity.config import ApiSettings
from logo_similarity.config.settings import ConfigError

HEADER = "X-API-Key"
MIN_KEY_LENGTH = 16
WELL_KNOWN = {"changeme", "change-me", "secret", "password", "admin", "default", "apikey", "api-key", "dev",
              "test", "example", "logo-sim", "logo-similarity"}
api_key_header = APIKeyHeader(name=HEADER, auto_error=False, description="the service's API key")


class Unauthorized(ServiceError):
    status = 401
    reason = "unauthorized"


def check_key_config(api: ApiSettings) -> None:
    """Raise ConfigError when the service must not start with this key (outside dev mode)."""
    key = api.api_key.get_secret_value() if api.api_key else ""
    weak = key.lower() in WELL_KNOWN or len(key) < MIN_KEY_LENGTH
    if not weak:
        return
    if api.dev_mode:
        logger.warning("dev mode: {} - do not expose this service", "no API key" if not key else "weak API key")
        return
    why = "no API key is set" if not key else f"the API key is weak (a well-known value or under {MIN_KEY_LENGTH} chars)"
    raise ConfigError(
        f"refusing to start: {why}. Set LOGO_SIM__API__API_KEY to a long random value "
        "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`), or set api.dev_mode for local use"
    )


def key_checker(api: ApiSettings, required: bool):
    """A dependency that accepts the request when the key matches (or when no key is needed)."""
    expected = api.api_key.get_secret_value() if api.api_key else None
    if not required:
        def open_endpoint() -> None:  # no header parameter: the schema shows the endpoint as open
            return None

        return open_endpoint

    def check(given: str | None = Security(api_key_header)) -> None:
        if expected is None:  # dev mode without a key (check_key_config allowed it)
            return
        if not given:
            raise Unauthorized(f"this endpoint needs the API key in the {HEADER} header", reason="missing_api_key")
        if not secrets.compare_digest(given.encode(), expected.encode()):
            raise Unauthorized("the API key is not valid", reason="invalid_api_key")

    return check
