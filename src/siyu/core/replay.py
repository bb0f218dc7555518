"""Replayed platform callbacks refused: a timestamp far from now, or a nonce already used.

WeChat and WeCom sign a callback's timestamp and nonce with the body, so a captured request
stays valid for ever unless the receiver refuses old timestamps and remembers the nonces of the
ones it took. A nonce has to be kept only while its timestamp is inside the window.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import BigInteger, String, UniqueConstraint, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from siyu.core.db import Base, BigId, UTCDateTime, rowcount, utcnow
from siyu.core.errors import InvalidInput, Unauthorized
from siyu.core.settings import get_settings

MAX_NONCE = 64


class CallbackNonce(Base):
    """A callback taken: its platform, the timestamp it was signed with and its nonce."""

    __tablename__ = "callback_nonces"
    __table_args__ = (UniqueConstraint("source", "sent_at", "nonce"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    sent_at: Mapped[int] = mapped_column(BigInteger)  # the callback's timestamp (epoch seconds)
    nonce: Mapped[str] = mapped_column(String(MAX_NONCE))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


def refuse_replayed(
    session: Session, source: str, timestamp: str, nonce: str, now: datetime | None = None
) -> None:
    """Record this signed callback's nonce in the caller's transaction; raise when the timestamp
    is more than SIYU_CALLBACK_WINDOW_SECONDS from now or the nonce was taken before."""
    now = now or utcnow()
    sent_at = _seconds(timestamp)
    window = get_settings().callback_window_seconds
    if abs(now.timestamp() - sent_at) > window:
        raise Unauthorized(
            f"the timestamp is more than {window} seconds from now "
            "(SIYU_CALLBACK_WINDOW_SECONDS); check the server's clock",
            field="timestamp",
            code="stale_timestamp",
        )
    if not 0 < len(nonce) <= MAX_NONCE:
        raise InvalidInput(f"the nonce must be 1 to {MAX_NONCE} characters", field="nonce")
    seen = CallbackNonce(source=source, sent_at=sent_at, nonce=nonce, seen_at=now)
    if _is_taken(session, seen):
        raise Unauthorized("this callback was received before", field="nonce", code="replayed")


def forget_nonces(session: Session, now: datetime | None = None) -> int:
    """Delete nonces whose timestamps can no longer pass the window; the caller commits."""
    window = timedelta(seconds=get_settings().callback_window_seconds)
    # A timestamp taken at seen_at was at most one window away from it, and is refused once it
    # is more than one window from now: two windows after seen_at it can never pass again.
    before = (now or utcnow()) - 2 * window
    return rowcount(session.execute(delete(CallbackNonce).where(CallbackNonce.seen_at < before)))


def _seconds(timestamp: str) -> int:
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise InvalidInput("the timestamp must be whole seconds since 1970", field="timestamp")
    return int(timestamp)


def _is_taken(session: Session, seen: CallbackNonce) -> bool:
    query = select(CallbackNonce.id).where(
        CallbackNonce.source == seen.source,
        CallbackNonce.sent_at == seen.sent_at,
        CallbackNonce.nonce == seen.nonce,
    )
    if session.scalar(query) is not None:
        return True
    try:
        with session.begin_nested():  # the same request twice at once: one wins the unique key
            session.add(seen)
            session.flush()
    except IntegrityError:
        return True
    return False
