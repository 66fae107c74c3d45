"""Errors the service turns into 4xx/503 responses; each carries a machine-readable ``reason``."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse


def error_response(status: int, reason: str, detail: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    """The one shape of every error answer: ``{"detail": ..., "reason": ...}``."""
    return JSONResponse({"detail": detail, "reason": reason}, status_code=status, headers=headers)


class ServiceError(Exception):
    status = 400
    reason = "bad_request"

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        if reason:
            self.reason = reason


class BadQuery(ServiceError):
    """The request is well formed but its values cannot be searched with (bad box, name without letters...)."""

    status = 422
    reason = "invalid_query"


class NotFound(ServiceError):
    status = 404
    reason = "not_found"


class WriteConflict(ServiceError):
    """A write cannot start now (a rebuild is running); the client may retry later."""

    status = 409
    reason = "conflict"


class Unavailable(ServiceError):
    """The service cannot answer now (index loading, or too many searches in flight)."""

    status = 503
    reason = "unavailable"


class InsufficientStorage(ServiceError):
    """The disk filled up during a write; nothing of it was made live."""

    status = 507
    reason = "disk_full"
