"""The tracking API (/v1/*), following Segment's HTTP tracking spec."""

from __future__ import annotations

import base64
import gzip
import threading
import zlib
from contextlib import nullcontext
from datetime import datetime

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from siyu.core.db import get_engine, session_factory, unit_of_work, utcnow
from siyu.core.errors import InvalidInput, TooLarge, Unauthorized
from siyu.events.service import SourceRef, ingest
from siyu.events.sources import source_for_key

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


# SQLite has one writer at a time: queueing this process's writers on a lock, rather than in
# SQLite's sleep-and-poll busy handler, keeps latency flat and makes each transaction read the
# identities the previous one wrote (no unique-key races, no retries).
_sqlite_writer = threading.Lock()


def _writer_lock():
    return _sqlite_writer if get_engine().dialect.name == "sqlite" else nullcontext()


def _store(source: SourceRef, events: list, sent_at, forced_type: str | None):
    received_at = utcnow()
    for attempt in range(3):
        try:
            with _writer_lock(), unit_of_work() as session:
                return ingest(session, source, events, received_at, sent_at, forced_type)
        except (IntegrityError, OperationalError) as error:
            # A concurrent request stored the same messageId or identity first (or PostgreSQL
            # chose this transaction as a deadlock victim): try again, and this time it is
            # seen as a duplicate or an existing identity.
            if attempt == 2 or not _is_retryable(error):
                raise
    raise AssertionError("unreachable")


def _is_retryable(error: DBAPIError) -> bool:
    """A unique-key race, a deadlock victim or a serialization failure."""
    return isinstance(error, IntegrityError) or getattr(error.orig, "sqlstate", None) in (
        "40P01",
        "40001",
    )


def _lookup_source(key: str) -> SourceRef:
    with session_factory()() as session:
        return source_for_key(session, key)


async def _receive(request: Request, kind: str | None) -> JSONResponse:
    body = _decompressed(await request.body(), request.headers.get("content-encoding", "").lower())
    payload = _parse(body)
    source = await run_in_threadpool(_lookup_source, _write_key(request, payload))
    if kind is None:
        events = payload.get("batch")
        if not isinstance(events, list):
            raise InvalidInput("batch must be a list of events", field="batch")
    else:
        events = [payload]
    result = await run_in_threadpool(_store, source, events, _sent_at(payload), kind)
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
