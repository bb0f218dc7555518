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

from sqlalchemy import JSON, ForeignKey, String, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from siyu.core.db import Base, BigId, UTCDateTime, insert_for, table_of, utcnow
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
    return error.status, error.answer()


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
    # Claiming the key is the transaction's first write, and one statement: a key stored
    # already (or being stored by a transaction that then commits) inserts nothing.
    if not _claimed(session, token_id, key, request):
        return _replayed(_stored(session, token_id, key), request)
    try:
        status, body = act()
    except SiyuError as error:
        session.rollback()
        status, body = error_answer(error)
        if not _claimed(session, token_id, key, request, status, body):
            return _replayed(_stored(session, token_id, key), request)
        return status, body
    table = table_of(IdempotentAnswer)
    session.execute(
        update(table)
        .where(table.c.token_id == token_id, table.c.key == key)
        .values(status_code=status, body=body)
    )
    return status, body


def _claimed(
    session: Session,
    token_id: int,
    key: str,
    request: str,
    status: int = 0,
    body: dict[str, Any] | None = None,
) -> bool:
    """Whether this request holds the key now (False: another one stored it first)."""
    table = table_of(IdempotentAnswer)
    claim = (
        insert_for(session, table)
        .values(
            token_id=token_id, key=key, fingerprint=request, status_code=status, body=body or {}
        )
        .on_conflict_do_nothing(index_elements=[table.c.token_id, table.c.key])
        .returning(table.c.token_id)  # a row when inserted (rowcount is -1 on psycopg)
    )
    return session.execute(claim).first() is not None


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
