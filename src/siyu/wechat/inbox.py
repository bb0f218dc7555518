"""The official account's inbox: each callback stored once under its natural key, then queued."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.core.jobs import enqueue, row_key
from siyu.wechat.callbacks import natural_key
from siyu.wechat.models import OfficialAccountCallback

JOB_KIND = "wechat.callback"


def accept(session: Session, event: dict, received_at: datetime) -> bool:
    """Store and queue a callback; False for a replay (stored nothing)."""
    key = natural_key(event)
    query = select(OfficialAccountCallback.id).where(OfficialAccountCallback.dedup_key == key)
    if session.scalar(query) is not None:
        return False
    callback = OfficialAccountCallback(
        dedup_key=key, event=event["kind"], fields=event, received_at=received_at
    )
    try:
        with session.begin_nested():
            session.add(callback)
            session.flush()
    except IntegrityError:
        return False
    key = row_key(JOB_KIND, callback.id, callback.received_at)
    enqueue(session, JOB_KIND, key, {"callback_id": callback.id})
    return True
