"""Sources and their write keys (HTTP Basic user name on the tracking API)."""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.auth import hash_secret, new_secret
from siyu.core.db import utcnow
from siyu.core.errors import Conflict, InvalidInput, NotFound, Unauthorized
from siyu.events.models import Source
from siyu.events.outbox import SourceRef

_KEY_CACHE: dict[str, tuple[float, SourceRef]] = {}
_KEY_CACHE_SECONDS = 10.0  # a revoked key stops working within this long


def create_key(session: Session, name: str) -> tuple[Source, str]:
    """A new source with a new write key; the key is shown once and stored only as a hash."""
    name = name.strip()
    if not name:
        raise InvalidInput("a source needs a name", field="name")
    if session.scalar(select(Source).where(Source.name == name)):
        raise Conflict(f"a source named {name!r} exists already", field="name")
    key = new_secret("wk")
    source = Source(name=name, key_hash=hash_secret(key), key_prefix=key[:10])
    session.add(source)
    session.flush()
    return source, key


def internal_source(session: Session, name: str) -> SourceRef:
    """A keyless source for events Siyu writes itself (imports, the demo, callbacks)."""
    source = session.scalar(select(Source).where(Source.name == name))
    if source is None:
        source = Source(name=name)
        session.add(source)
        session.flush()
    return SourceRef(source.id, source.name)


def revoke_key(session: Session, name: str) -> Source:
    source = session.scalar(select(Source).where(Source.name == name))
    if source is None:
        raise NotFound(f"no source named {name!r}", field="name")
    source.revoked_at = utcnow()
    _KEY_CACHE.clear()
    return source


def list_sources(session: Session) -> list[Source]:
    return list(session.scalars(select(Source).order_by(Source.id)))


def cached_source(key: str) -> SourceRef | None:
    """The key's source if it was looked up in the last few seconds (no database needed)."""
    cached = _KEY_CACHE.get(hash_secret(key))
    return cached[1] if cached and cached[0] > time.monotonic() else None


def source_for_key(session: Session, key: str) -> SourceRef:
    cached = cached_source(key)
    if cached:
        return cached
    digest = hash_secret(key)
    source = session.scalar(select(Source).where(Source.key_hash == digest))
    if source is None or source.revoked_at is not None:
        raise Unauthorized("the write key is unknown or revoked", field="writeKey")
    ref = SourceRef(source.id, source.name)
    _KEY_CACHE[digest] = (time.monotonic() + _KEY_CACHE_SECONDS, ref)
    return ref
