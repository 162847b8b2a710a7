"""A cap on request bodies for any ASGI app: 413 before the body is read.

Why by hand: Starlette has no body-size limit and uvicorn has none either (its
flow control only stops reading while the app is not receiving); this is the
usual twenty-line pure ASGI middleware. A declared `Content-Length` over the
limit is refused before a single body byte is read; a chunked body (no
length) is counted as it streams and refused the moment it passes the limit,
so an app never holds more than the limit plus one chunk in memory.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["DEFAULT_MAX_BYTES", "BodyLimit", "LimitedStarlette"]

DEFAULT_MAX_BYTES = 1024 * 1024  # Slack, webhook and PagerDuty API payloads are a few KiB


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Answer 413 to any HTTP request whose body is larger than `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BYTES,
                 error_body: dict[str, Any] | None = None) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        self.app = app
        self.max_bytes = max_bytes
        body = error_body or {"error": "Request body too large", "limit_bytes": max_bytes}
        self._body = json.dumps(body).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)  # nothing read: the connection is closed after the answer
            return
        seen = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        await send({
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(self._body)).encode()),
                (b"connection", b"close"),
            ],
        })
        await send({"type": "http.response.body", "body": self._body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server (h11/httptools) refuses a malformed length itself
    return None


class LimitedStarlette(Starlette):
    """Starlette with BodyLimit as its outermost user middleware (for `agent.surfaces.server`)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["middleware"] = [Middleware(BodyLimit), *(kwargs.get("middleware") or [])]
        super().__init__(**kwargs)
