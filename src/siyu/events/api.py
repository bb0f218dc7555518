"""The tracking API (/v1/*), following Segment's HTTP tracking spec."""

from __future__ import annotations

import base64
import gzip
import zlib
from datetime import datetime

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter, ValidationError

from siyu.core.db import get_engine, session_factory, utcnow, write_lock
from siyu.core.errors import InvalidInput, TooLarge, Unauthorized
from siyu.events.inbox import check_all, drop_seen, store
from siyu.events.schemas import IngestResult
from siyu.events.service import SourceRef
from siyu.events.sources import cached_source, source_for_key

router = APIRouter(prefix="/v1", tags=["tracking"])
MAX_REQUEST_BYTES = 500 * 1024
SINGLE_TYPES = ("identify", "track", "page", "screen", "group", "alias")
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


def _parse(body: bytes) -> dict:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise InvalidInput(f"the body is not JSON: {error}", field="body") from None
    if not isinstance(payload, dict):
        raise InvalidInput("the body must be a JSON object", field="body")
    return payload


def _write_key(request: Request, payload: dict) -> str:
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


def _sent_at(payload: dict) -> datetime | None:
    value = payload.get("sentAt")
    if value is None:
        return None
    try:
        return _datetime.validate_python(value)
    except ValidationError:
        raise InvalidInput("sentAt is not an ISO-8601 time", field="sentAt") from None


def _store(
    source: SourceRef, result: IngestResult, raws: list, checked: list, sent_at, kind: str | None
) -> IngestResult:
    """Drop what was seen before, then store the rest: one insert, one commit."""
    received_at = utcnow()
    with get_engine().connect() as connection:
        fresh = drop_seen(connection, source, result, raws, checked)
        connection.rollback()  # end the read before taking SQLite's one writer
        if fresh:
            with write_lock():
                store(connection, source, fresh, received_at, sent_at, kind)
                connection.commit()
    return result


def _lookup_source(key: str) -> SourceRef:
    with session_factory()() as session:
        return source_for_key(session, key)


async def _receive(request: Request, kind: str | None) -> JSONResponse:
    body = _decompressed(await request.body(), request.headers.get("content-encoding", "").lower())
    payload = _parse(body)
    key = _write_key(request, payload)
    source = cached_source(key) or await run_in_threadpool(_lookup_source, key)
    if kind is None:
        events = payload.get("batch")
        if not isinstance(events, list):
            raise InvalidInput("batch must be a list of events", field="batch")
    else:
        events = [payload]
    sent_at = _sent_at(payload)
    # Checking is CPU work: done here, as a plain validate-and-append server would; only the
    # database round trip goes to a thread.
    result, checked = check_all(events, kind)
    if checked:
        result = await run_in_threadpool(_store, source, result, events, checked, sent_at, kind)
    if kind is not None and result.rejected:
        problem = result.rejected[0]
        raise InvalidInput(problem.reason, field=problem.field)
    status = 200 if result.success else 400
    return JSONResponse(result.model_dump(exclude_defaults=False), status_code=status)


@router.post("/batch", summary="Send up to 500 KB of events in one request")
async def batch(request: Request) -> JSONResponse:
    return await _receive(request, None)


def _single(kind: str):
    async def endpoint(request: Request) -> JSONResponse:
        return await _receive(request, kind)

    endpoint.__name__ = kind
    return endpoint


for _kind in SINGLE_TYPES:
    router.add_api_route(
        f"/{_kind}", _single(_kind), methods=["POST"], summary=f"Send one {_kind} call"
    )
