"""Protective ASGI middleware: request body size (enforced while streaming), content type, search admission.

Pure ASGI rather than ``BaseHTTPMiddleware`` so the body is counted chunk by chunk as the server receives it:
an upload over the limit is refused after at most ``limit`` bytes, whether it announced its length or not.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from logo_similarity.api.errors import error_response

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


class Admission:
    """Count of admitted searches (running + queued for a search thread); over ``limit``, new ones get 503.

    Touched only on the event loop thread, so a plain counter is enough.
    """

    def __init__(self, limit: int, retry_after_s: int, on_busy: Callable[[], None] = lambda: None) -> None:
        self.limit = limit
        self.retry_after_s = retry_after_s
        self.on_busy = on_busy
        self.in_flight = 0


class RequestGuard:
    """Body limit for every request; form content type and admission control for the routes that need them.

    ``form_routes(method, path)`` says whether a request must carry a form body; ``admitted(method, path)``
    whether it counts against the in-flight search limit (``admission``; over it: 503 + Retry-After).
    """

    def __init__(self, app: ASGIApp, max_body: int, form_routes: Callable[[str, str], bool],
                 admitted: Callable[[str, str], bool], admission: Admission) -> None:
        self.app = app
        self.max_body = max_body
        self.form_routes = form_routes
        self.admitted = admitted
        self.admission = admission

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                await error_response(400, "bad_content_length", "Content-Length must be a number")(scope, receive, send)
                return
            if int(length) > self.max_body:
                await error_response(413, "too_large", self._too_large())(scope, receive, send)
                return
        if self.form_routes(method, path):
            kind = headers.get("content-type", "").split(";")[0].strip().lower()
            if kind not in FORM_TYPES:
                detail = f"send the request as multipart/form-data (got {kind or 'no content type'!r})"
                await error_response(415, "unsupported_media_type", detail)(scope, receive, send)
                return
        gated = self.admitted(method, path)
        gate = self.admission
        if gated and gate.in_flight >= gate.limit:
            gate.on_busy()
            await error_response(503, "busy", f"{gate.in_flight} searches in flight; retry shortly",
                                 {"Retry-After": str(gate.retry_after_s)})(scope, receive, send)
            return
        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise HTTPException(413, self._too_large())
            return message

        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        if gated:
            gate.in_flight += 1
        try:
            await self.app(scope, counted_receive, tracked_send)
        except HTTPException as exc:  # the limit tripped where no handler turned it into a response
            if started or exc.status_code != 413:
                raise
            await error_response(413, "too_large", self._too_large())(scope, receive, send)
        finally:
            if gated:
                gate.in_flight -= 1

    def _too_large(self) -> str:
        return f"request body over the {self.max_body / 1024**2:g} MB limit"
