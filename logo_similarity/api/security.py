"""API keys: mutating endpoints always need one; read endpoints when ``api.read_requires_key`` (the check itself is
a dependency in ``api/deps.py``; here, whether the service may start with the configured key).

The key comes from the environment or a config file (``LOGO_SIM__API__API_KEY``), never from the repository.
The service refuses to start without a key, or with a short or well-known one, unless ``api.dev_mode`` is on.
"""

from __future__ import annotations

from loguru import logger

from logo_similarity.api.errors import ServiceError
from logo_similarity.config import ApiSettings
from logo_similarity.config.settings import ConfigError

HEADER = "X-API-Key"
MIN_KEY_LENGTH = 16
WELL_KNOWN = {"changeme", "change-me", "secret", "password", "admin", "default", "apikey", "api-key", "dev",
              "test", "example", "logo-sim", "logo-similarity"}


class Unauthorized(ServiceError):
    status = 401
    reason = "unauthorized"


class Forbidden(ServiceError):
    status = 403
    reason = "forbidden"


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
