"""The HTTP edge, in front of every route: request bodies held to a size while they are read,
and the security headers every response carries.

A pure ASGI middleware, so it costs the tracking API and the QR landing a few microseconds and
never buffers a body: a declared Content-Length over the limit is answered 413 before anything
is read, and a chunked body is counted as it streams and cut off at the limit, before the route
signs anyone in or parses anything."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from siyu.console.web import gettext, render, request_locale
from siyu.core.errors import TooLarge
from siyu.core.settings import get_settings
from siyu.events.api import MAX_REQUEST_BYTES as TRACKING_MAX_BYTES

# Where a file is uploaded: these take SIYU_IMPORT_MAX_BYTES instead of SIYU_MAX_BODY_BYTES.
UPLOAD_PATHS = frozenset({"/imports", "/tags/bulk"})
MACHINE_PREFIXES = ("/v1/", "/api/", "/wecom/", "/wechat/")
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})

_POLICY = (
    "default-src 'self'; script-src 'self'{nonce}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# FastAPI's /docs and /redoc load their viewers from a CDN with an inline starter script.
_DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https:; worker-src blob:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
_ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # Console addresses carry searches (a phone number): never hand them to another site.
    (b"referrer-policy", b"same-origin"),
]
_PLAIN_POLICY = (b"content-security-policy", _POLICY.format(nonce="").encode())
_NO_STORE = (b"cache-control", b"no-store")


class BodyTooLarge(Exception):
    """Raised into the route that reads past the limit; the edge answers 413 instead."""


class Edge:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = body_limit(scope)
        if _declared_length(scope) > limit:
            return await _too_large(scope, receive, send, limit)
        body, started = _CountedBody(receive, limit), False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if body.exceeded and not started:
                return  # whatever the route made of a body cut short, the answer is 413
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = _secured(scope, list(message.get("headers", ())))
            await send(message)

        try:
            await self.app(scope, body, send_with_headers)
        except Exception:
            if not body.exceeded or started:
                raise
        if body.exceeded and not started:
            await _too_large(scope, receive, send, limit)


def body_limit(scope: Scope) -> int:
    path = scope["path"]
    if path.startswith("/v1/"):
        return TRACKING_MAX_BYTES
    if path in UPLOAD_PATHS:
        return get_settings().import_max_bytes
    return get_settings().max_body_bytes


class _CountedBody:
    """The request's receive channel, counting body bytes and refusing past the limit."""

    def __init__(self, receive: Receive, limit: int):
        self.receive, self.limit = receive, limit
        self.read, self.exceeded = 0, False

    async def __call__(self) -> Message:
        message = await self.receive()
        if message["type"] == "http.request":
            self.read += len(message.get("body", b""))
            if self.read > self.limit:
                self.exceeded = True
                raise BodyTooLarge(f"the request body passed {self.limit} bytes")
        return message


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


def _secured(scope: Scope, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    path = scope["path"]
    headers.extend(_ALWAYS)
    headers.append(_policy(scope, path))
    if not path.startswith("/static/") and not any(k == b"cache-control" for k, _ in headers):
        # Pages and exports carry personal data: no browser or proxy keeps a copy.
        headers.append(_NO_STORE)
    return headers


def _policy(scope: Scope, path: str) -> tuple[bytes, bytes]:
    if path in DOCS_PATHS:
        return b"content-security-policy", _DOCS_POLICY.encode()
    nonce = scope.get("state", {}).get("csp_nonce")
    if nonce is None:
        return _PLAIN_POLICY
    return b"content-security-policy", _POLICY.format(nonce=f" 'nonce-{nonce}'").encode()


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    request = Request(scope, receive)
    size = _size(limit)
    if scope["path"].startswith(MACHINE_PREFIXES) or "application/json" in request.headers.get(
        "accept", ""
    ):
        error = TooLarge(
            f"the request is larger than {size}, the most this address takes", field="body"
        )
        response = JSONResponse(error.answer(), status_code=413)
    else:
        _ = gettext(request_locale(request))
        message = _("the request is larger than %(size)s, the most this address takes")
        error = TooLarge(message % {"size": size}, field="body")
        response = render(request, "error.html", status_code=413, error=error)
    # The rest of the body is never read: the server closes the connection after this answer.
    response.headers["connection"] = "close"
    response.raw_headers = _secured(scope, response.raw_headers)
    await response(scope, receive, send)


def _size(limit: int) -> str:
    for unit, name in ((1024 * 1024, "MB"), (1024, "KB")):
        if limit % unit == 0:
            return f"{limit // unit} {name}"
    return f"{limit:,} bytes"
