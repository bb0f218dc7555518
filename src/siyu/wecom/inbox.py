"""The callback inbox: store each callback once under its natural key and queue its processing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.core.jobs import enqueue, row_key
from siyu.wecom.callbacks import natural_key
from siyu.wecom.models import WecomCallback

JOB_KIND = "wecom.callback"


def accept(session: Session, fields: dict, received_at: datetime) -> tuple[WecomCallback, bool]:
    """The stored callback and whether it is new; a replay stores nothing and queues nothing."""
    key = natural_key(fields)
    found = session.scalar(select(WecomCallback).where(WecomCallback.dedup_key == key))
    if found is not None:
        return found, False
    callback = WecomCallback(
        dedup_key=key,
        event=str(fields.get("Event") or fields.get("MsgType") or ""),
        change_type=str(fields["ChangeType"]) if fields.get("ChangeType") else None,
        fields=fields,
        received_at=received_at,
    )
    try:
        with session.begin_nested():  # two deliveries at once: the second loses the unique key
            session.add(callback)
            session.flush()
    except IntegrityError:
        first = select(WecomCallback).where(WecomCallback.dedup_key == key)
        return session.execute(first).scalar_one(), False
    enqueue(session, JOB_KIND, job_key(callback), {"callback_id": callback.id})
    return callback, True


def job_key(callback: WecomCallback) -> str:
    """The key of the job that processes this callback."""
    return row_key(JOB_KIND, callback.id, callback.received_at)


def recent(session: Session, limit: int = 20) -> list[WecomCallback]:
    query = select(WecomCallback).order_by(WecomCallback.id.desc()).limit(limit)
    return list(session.scalars(query))
