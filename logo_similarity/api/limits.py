"""Protective ASGI middleware: request body size (enforced while streaming), content type, admission.

Pure ASGI rather than ``BaseHTTPMiddleware`` so the body is counted chunk by chunk as the server receives it:
an upload over the limit is refused after at most ``limit`` bytes, whether it announced its length or not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from logo_similarity.api.errors import error_response

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


class Admission:
    """Count of admitted requests of one kind (running + queued for their threads); over ``limit``, new ones get
    503. Searches and writes each have their own, so writers queued behind a long write never take the places
    of searches (nor the other way round).

    Touched only on the event loop thread, so a plain counter is enough.
    """

    def __init__(self, limit: int, retry_after_s: int, what: str = "searches",
                 on_busy: Callable[[], None] = lambda: None) -> None:
        self.limit = limit
        self.retry_after_s = retry_after_s
        self.what = what
        self.on_busy = on_busy
        self.in_flight = 0


@dataclass(frozen=True)
class RoutePolicy:
    max_body: int  # bytes
    form: bool = False  # the request must carry a form body
    gate: Admission | None = None  # counted against this admission limit


class RequestGuard:
    """Body limit for every request; form content type and admission control for the routes that need them.

    ``policy(method, path)`` gives each request its body limit, whether it must be a form, and which admission
    limit it counts against (over it: 503 + Retry-After).
    """

    def __init__(self, app: ASGIApp, policy: Callable[[str, str], RoutePolicy]) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        policy = self.policy(method, path)
        max_body = policy.max_body
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                await error_response(400, "bad_content_length", "Content-Length must be a number")(scope, receive, send)
                return
            if int(length) > max_body:
                await error_response(413, "too_large", _too_large(max_body))(scope, receive, send)
                return
        if policy.form:
            kind = headers.get("content-type", "").split(";")[0].strip().lower()
            if kind not in FORM_TYPES:
                detail = f"send the request as multipart/form-data (got {kind or 'no content type'!r})"
                await error_response(415, "unsupported_media_type", detail)(scope, receive, send)
                return
        gate = policy.gate
        if gate is not None and gate.in_flight >= gate.limit:
            gate.on_busy()
            await error_response(503, "busy", f"{gate.in_flight} {gate.what} in flight; retry shortly",
                                 {"Retry-After": str(gate.retry_after_s)})(scope, receive, send)
            return
        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_body:
                    raise HTTPException(413, _too_large(max_body))
            return message

        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        if gate is not None:
            gate.in_flight += 1
        try:
            await self.app(scope, counted_receive, tracked_send)
        except HTTPException as exc:  # the limit tripped where no handler turned it into a response
            if started or exc.status_code != 413:
                raise
            await error_response(413, "too_large", _too_large(max_body))(scope, receive, send)
        finally:
            if gate is not None:
                gate.in_flight -= 1


def _too_large(max_body: int) -> str:
    return f"request body over the {max_body / 1024**2:g} MB limit"
