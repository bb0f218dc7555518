"""Idempotency keys: a write retried with the same `Idempotency-Key` header gets the first
answer again and changes nothing.

The key is stored in the same transaction as the write's effect. Two requests with one key at
once: on PostgreSQL the second one's insert waits on the first one's unique key until it commits,
then reads its answer; on SQLite writers take turns. A domain error (sold out, over the limit) is
an answer too: it is stored, so a retry does not reach a different verdict later."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from siyu.core.db import Base, BigId, UTCDateTime, utcnow
from siyu.core.errors import InvalidInput, SiyuError

HEADER = "Idempotency-Key"
MAX_KEY = 255

Answer = tuple[int, dict[str, Any]]
REPLAYED = "_replayed"  # in a replayed answer's body, for the caller to take out (a header)


class IdempotentAnswer(Base):
    """The first answer to a write made under an API token and a key."""

    __tablename__ = "idempotency_keys"

    token_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("api_tokens.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(MAX_KEY), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # the request's method, path and body
    status_code: Mapped[int] = mapped_column(default=0)
    body: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


def checked_key(value: str | None) -> str | None:
    """The header's key, or a 400 naming the header: 1-255 visible ASCII characters."""
    if value is None:
        return None
    if not 0 < len(value) <= MAX_KEY or not all(" " < c <= "~" for c in value):
        raise InvalidInput(
            "Idempotency-Key must be 1 to 255 visible ASCII characters", field=HEADER
        )
    return value


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"%s %s\n%s" % (method.encode(), path.encode(), body)).hexdigest()


def error_answer(error: SiyuError) -> Answer:
    """A domain error as the API answers it."""
    return error.status, {"success": False, "error": error.to_dict()}


def answer_once(
    session: Session,
    token_id: int,
    key: str | None,
    request: str,
    act: Callable[[], Answer],
) -> Answer:
    """`act`'s answer, or the answer stored under (token, key) when there is one. `request` is
    the request's fingerprint: the same key with another request is refused (400). The caller
    commits; a domain error `act` raises is rolled back and stored as the answer."""
    if key is None:
        try:
            return act()
        except SiyuError as error:
            session.rollback()
            return error_answer(error)
    stored = session.get(IdempotentAnswer, (token_id, key))
    if stored is not None:
        return _replayed(stored, request)
    # The key is the transaction's first write, so a clash rolls back nothing else (and no
    # savepoint is needed: on SQLite one opened before any write would commit on release).
    if not _claimed(session, IdempotentAnswer(token_id=token_id, key=key, fingerprint=request)):
        return _replayed(_stored(session, token_id, key), request)
    try:
        status, body = act()
    except SiyuError as error:
        session.rollback()
        status, body = error_answer(error)
        answer = IdempotentAnswer(
            token_id=token_id, key=key, fingerprint=request, status_code=status, body=body
        )
        if not _claimed(session, answer):
            return _replayed(_stored(session, token_id, key), request)
        return status, body
    stored = session.get_one(IdempotentAnswer, (token_id, key))
    stored.status_code, stored.body = status, body
    session.flush()
    return status, body


def _claimed(session: Session, answer: IdempotentAnswer) -> bool:
    """Whether this request holds the key now (False: another one committed it first)."""
    session.add(answer)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return False
    return True


def _stored(session: Session, token_id: int, key: str) -> IdempotentAnswer:
    return session.get_one(IdempotentAnswer, (token_id, key))


def _replayed(stored: IdempotentAnswer, request: str) -> Answer:
    if stored.fingerprint != request:
        raise InvalidInput(
            "this Idempotency-Key was used with another request: use a new key",
            field=HEADER,
            code="idempotency_key_reused",
        )
    return stored.status_code, {**stored.body, REPLAYED: True}
