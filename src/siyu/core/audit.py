"""The audit log: every change a person makes (who, what, when, before/after), captured at flush.

A surface names the actor: the console and management API put it in the session's `info["actor"]`,
the CLI wraps its work in `acting_as()`; while an actor is set, every insert, update and delete of
an audited table in that session is recorded. Event ingestion
sets no actor, so the firehose of tracked events is not copied into the audit log.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, String, event, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column

from siyu.core.db import Base, BigId, UTCDateTime, utcnow

_actor: contextvars.ContextVar[str | None] = contextvars.ContextVar("siyu_actor", default=None)
SECRET_COLUMNS = {"password_hash", "token_hash", "key_hash", "csrf_token"}
UNAUDITED = {
    "audit_log",
    "web_sessions",
    "outbox",
    "received_messages",
    "jobs",
    "lake_batches",
    "lake_compactions",
    "meta",
    "imports",  # an upload's bookkeeping: progress twice a second, and its customers' first rows
}


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(10))  # insert | update | delete
    entity: Mapped[str] = mapped_column(String(64), index=True)
    entity_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


@contextmanager
def acting_as(actor: str) -> Iterator[None]:
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _state(obj: Any, history: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for attr in inspect(obj).mapper.column_attrs:
        name = attr.key
        if name in SECRET_COLUMNS:
            continue
        hist = inspect(obj).attrs[name].history
        if history and not hist.has_changes():
            continue
        old = hist.deleted[0] if hist.deleted else (hist.unchanged[0] if hist.unchanged else None)
        new = hist.added[0] if hist.added else old
        before[name], after[name] = _plain(old), _plain(new)
    return before, after


def _entry(obj: Any, action: str, actor: str) -> AuditEntry | None:
    table = obj.__table__.name
    if table in UNAUDITED:
        return None
    before, after = _state(obj, history=action == "update")
    if action == "update" and not after:
        return None
    identity = inspect(obj).identity
    return AuditEntry(
        actor=actor,
        action=action,
        entity=table,
        entity_id=str(identity[0]) if identity else None,
        before=None if action == "insert" else before,
        after=None if action == "delete" else after,
    )


@event.listens_for(Session, "before_flush")
def _record_changes(session: Session, _context: Any, _instances: Any) -> None:
    actor = session.info.get("actor") or _actor.get()
    if actor is None:
        return
    changes = [(o, "update") for o in session.dirty if session.is_modified(o)]
    changes += [(o, "delete") for o in session.deleted]
    session.info.setdefault("audit_new", []).extend(session.new)
    for obj, action in changes:
        entry = _entry(obj, action, actor)
        if entry is not None:
            session.add(entry)


@event.listens_for(Session, "after_flush_postexec")
def _record_inserts(session: Session, _context: Any) -> None:
    # New rows have their ids only after the flush; entries added here flush in the next loop.
    actor = session.info.get("actor") or _actor.get()
    pending = session.info.pop("audit_new", [])
    if actor is None:
        return
    for obj in pending:
        if isinstance(obj, AuditEntry):
            continue
        entry = _entry(obj, "insert", actor)
        if entry is not None:
            session.add(entry)
