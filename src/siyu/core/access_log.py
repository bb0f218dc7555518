"""One log line per HTTP request (`siyu serve` prints them), each with a request id that the
response carries as X-Request-ID, so what a user quotes from a page can be found in the log."""

from __future__ import annotations

import logging
import os
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("siyu.access")
# A caller's own id (a proxy's, a client library's) is kept when it is short and plain.
_GIVEN_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")


class AccessLog:
    """ASGI middleware: `GET /customers 200 12.3 ms 127.0.0.1 id=…` after each response.

    The path is logged without its query string: console searches carry phone numbers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request_id = _request_id(scope)
        started, status = time.perf_counter(), 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", ()),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if logger.isEnabledFor(logging.INFO):
                client = scope.get("client")
                logger.info(
                    "%s %s %d %.1f ms %s id=%s",
                    scope["method"],
                    scope["path"],
                    status,
                    (time.perf_counter() - started) * 1000,
                    client[0] if client else "-",
                    request_id,
                )


def _request_id(scope: Scope) -> str:
    given: bytes
    for name, given in scope["headers"]:
        if name == b"x-request-id" and _GIVEN_ID.fullmatch(given):
            return given.decode()
    return os.urandom(8).hex()  # a uuid4's first 16 hex digits cost five times as much
