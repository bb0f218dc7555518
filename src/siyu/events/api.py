"""The tracking API (/v1/*), following Segment's HTTP tracking spec."""

from __future__ import annotations

import base64
import gzip
import zlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError

from siyu.core.db import session_factory, utcnow
from siyu.core.errors import InvalidInput, TooLarge, Unauthorized
from siyu.events.inbox import Received, check_all, receive_on_loop
from siyu.events.schemas import Message
from siyu.events.service import Rejection, SourceRef, as_utc, check_time
from siyu.events.sources import cached_source, source_for_key

router = APIRouter(prefix="/v1", tags=["tracking"])
MAX_REQUEST_BYTES = 500 * 1024
SINGLE_TYPES = ("identify", "track", "page", "screen", "group", "alias")


def _documented_body(schema: dict[str, Any]) -> dict[str, Any]:
    """The body a route reads itself (it parses and checks the raw bytes), as OpenAPI shows it."""
    content = {"application/json": {"schema": schema}}
    return {"requestBody": {"required": True, "content": content}}


_MESSAGE = Message.model_json_schema(by_alias=True)
_CALL = {**_MESSAGE, "required": []}  # a single call's type comes from its path
_BATCH = {
    "type": "object",
    "properties": {
        "batch": {"type": "array", "items": _MESSAGE},
        "sentAt": _MESSAGE["properties"]["sentAt"],
    },
    "required": ["batch"],
}
_datetime = TypeAdapter(datetime)


def _decompressed(body: bytes, encoding: str) -> bytes:
    if len(body) > MAX_REQUEST_BYTES:
        raise TooLarge("the request is larger than 500 KB", field="body")
    if encoding in ("gzip", "deflate"):
        # Read at most one byte past the limit, so a small bomb cannot fill memory.
        inflater = zlib.decompressobj(wbits=31 if encoding == "gzip" else 15)
        try:
            body = inflater.decompress(body, MAX_REQUEST_BYTES + 1)
        except (zlib.error, gzip.BadGzipFile):
            raise InvalidInput(f"the body is not valid {encoding}", field="body") from None
    elif encoding not in ("", "identity"):
        raise InvalidInput(f"Content-Encoding {encoding!r} is not supported", field="body")
    if len(body) > MAX_REQUEST_BYTES:
        raise TooLarge("the request is larger than 500 KB once decompressed", field="body")
    return body


def _parse(body: bytes) -> dict[str, Any]:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise InvalidInput(f"the body is not JSON: {error}", field="body") from None
    if not isinstance(payload, dict):
        raise InvalidInput("the body must be a JSON object", field="body")
    return payload


def _write_key(request: Request, payload: dict[str, Any]) -> str:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            user = base64.b64decode(header[6:]).decode().split(":", 1)[0]
        except (ValueError, UnicodeDecodeError):
            raise Unauthorized(
                "the Authorization header is not valid Basic auth", field="Authorization"
            ) from None
        if user:
            return user
    key = payload.get("writeKey")
    if isinstance(key, str) and key:
        return key
    raise Unauthorized(
        "a write key is required: HTTP Basic auth with the key as user name", field="Authorization"
    )


def _sent_at(payload: dict[str, Any]) -> datetime | None:
    value = payload.get("sentAt")
    if value is None:
        return None
    try:
        sent_at = _datetime.validate_python(value)
    except ValidationError:
        raise InvalidInput("sentAt is not an ISO-8601 time", field="sentAt") from None
    try:
        check_time(sent_at, "sentAt")
    except Rejection as problem:
        raise InvalidInput(problem.reason, field=problem.field) from None
    return as_utc(sent_at)  # a naive time is the brand's, as for a message's own sentAt


def _lookup_source(key: str) -> SourceRef:
    with session_factory()() as session:
        return source_for_key(session, key)


# Async by design, the hot path: an uncached write-key lookup goes to the thread pool, and the
# one write (events.inbox.receive_on_loop) costs less than a thread hand-over unless it must wait.
async def _receive(request: Request, kind: str | None) -> Response:
    raw_body, encoding = await request.body(), request.headers.get("content-encoding", "").lower()
    payload = _parse(_decompressed(raw_body, encoding))
    key = _write_key(request, payload)
    source = cached_source(key)
    if source is None:
        source = await run_in_threadpool(_lookup_source, key)
    if kind is None:
        events = payload.get("batch")
        if not isinstance(events, list):
            raise InvalidInput("batch must be a list of events", field="batch")
    else:
        events = [payload]
    # A single call's sentAt is the message's own, which the check reads with the message.
    sent_at, received_at = (_sent_at(payload) if kind is None else None), utcnow()
    result, checked = check_all(events, kind, received_at, sent_at)
    if checked:
        encoding = encoding if encoding in ("gzip", "deflate") else ""
        received = Received(raw_body, encoding, len(events), received_at, sent_at, kind)
        await receive_on_loop(source, result, received, checked)
    if kind is not None and result.rejected:
        problem = result.rejected[0]
        raise InvalidInput(problem.reason, field=problem.field)
    status = 200 if result.success else 400
    body = orjson.dumps(result.model_dump(exclude_defaults=False))
    return Response(body, status_code=status, media_type="application/json")


@router.post(
    "/batch",
    summary="Send up to 500 KB of events in one request",
    openapi_extra=_documented_body(_BATCH),
)
async def batch(request: Request) -> Response:
    return await _receive(request, None)


def _single(kind: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await _receive(request, kind)

    endpoint.__name__ = kind
    return endpoint


for _kind in SINGLE_TYPES:
    router.add_api_route(
        f"/{_kind}",
        _single(_kind),
        methods=["POST"],
        summary=f"Send one {_kind} call",
        openapi_extra=_documented_body(_CALL),
    )
