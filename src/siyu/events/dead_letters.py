"""Dead letters: what the inbox processor could not apply, listed and replayed (`siyu inbox`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.core.db import session_factory, unit_of_work, write_lock
from siyu.core.errors import NotFound
from siyu.events import inbox
from siyu.events.models import DeadLetter, Source


@dataclass(frozen=True)
class DeadLetterView:
    """One dead letter as `siyu inbox dead-letters` shows it."""

    id: int
    source: str
    message_id: str | None
    kind: str | None  # the message's type and event, e.g. "track Order Completed"
    received_at: datetime
    failed_at: datetime
    error: str


@dataclass
class Replayed:
    """What `replay` did: messages applied, and the dead letters that failed again (new ids)."""

    applied: int = 0
    failed_again: list[int] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(DeadLetter)) or 0


def list_dead_letters(session: Session) -> list[DeadLetterView]:
    """Every dead letter, oldest first."""
    rows = session.execute(
        select(DeadLetter, Source.name)
        .join(Source, Source.id == DeadLetter.source_id)
        .order_by(DeadLetter.id)
    )
    return [
        DeadLetterView(
            id=letter.id,
            source=name,
            message_id=letter.message_id,
            kind=_kind(letter),
            received_at=letter.received_at,
            failed_at=letter.failed_at,
            error=letter.error,
        )
        for letter, name in rows
    ]


def _kind(letter: DeadLetter) -> str | None:
    """ "track Order Completed" for a one-message letter that says so; None for a whole request."""
    if letter.encoding or letter.indices is not None:
        return None
    try:
        (message,) = orjson.loads(letter.payload)
    except (ValueError, TypeError):
        return None
    if not isinstance(message, dict):
        return None
    kind = letter.forced_type or message.get("type")
    event = message.get("event") or message.get("name")
    return " ".join(str(part)[:80] for part in (kind, event) if part) or None


def all_ids(session: Session) -> list[int]:
    return list(session.scalars(select(DeadLetter.id).order_by(DeadLetter.id)))


def replay(
    ids: list[int],
    factory: sessionmaker[Session] | None = None,
    progress: Callable[[], None] | None = None,
) -> Replayed:
    """Apply these dead letters again, each as the processor applies a request message by
    message: what applies leaves the dead letters, what still fails is kept again with its new
    error (and a new id)."""
    factory = factory or session_factory()
    outcome = Replayed()
    for letter_id in ids:
        try:
            applied, kept = _replay_one(factory, letter_id)
        except NotFound:
            outcome.missing.append(letter_id)
        else:
            outcome.applied += applied
            outcome.failed_again += kept
        if progress:
            progress()
    return outcome


def _replay_one(factory: sessionmaker[Session], letter_id: int) -> tuple[int, list[int]]:
    with write_lock(), unit_of_work(factory=factory) as session:
        found = session.execute(
            select(DeadLetter, Source.name)
            .join(Source, Source.id == DeadLetter.source_id)
            .where(DeadLetter.id == letter_id)
        ).first()
        if found is None:
            raise NotFound(f"there is no dead letter {letter_id}", field="id")
        letter, source_name = found
        row = inbox.Pending(
            letter.id,
            letter.source_id,
            source_name,
            letter.received_at,
            letter.sent_at,
            letter.forced_type,
            letter.payload,
            letter.encoding,
            letter.indices,
        )
        session.delete(letter)
        handled, kept = inbox.apply_each(session, row)
        return handled - len(kept), [letter.id for letter in kept]
