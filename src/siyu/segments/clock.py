"""What the shipper calls after each round: re-evaluate auto-tags when events arrived, start
scheduled segment refreshes and the hourly auto-tag pass (for conditions that age by time)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from siyu.core import jobs
from siyu.core.db import utcnow
from siyu.segments import jobs as segment_jobs
from siyu.tags import jobs as _tag_jobs  # noqa: F401 - registers tags.evaluate
from siyu.tags.models import Tag

EVENTS_EVERY = 60  # seconds: events shipped within a minute share one auto-tag pass
CHECK_EVERY = 30.0  # seconds between two looks at the schedules
_last_check = [0.0]


def after_shipping(factory: sessionmaker, shipped: int, now: datetime | None = None) -> None:
    """Called by the shipper each round with the events it shipped (cheap when nothing is due)."""
    is_check_due = time.monotonic() - _last_check[0] >= CHECK_EVERY
    if not shipped and not is_check_due:
        return
    with factory() as session:
        enqueue_work(session, shipped, is_check_due, now or utcnow())
        session.commit()
    if is_check_due:
        _last_check[0] = time.monotonic()


def enqueue_work(session: Session, shipped: int, check_schedules: bool, now: datetime) -> None:
    has_rules = session.scalar(select(Tag.id).where(Tag.rule.is_not(None)).limit(1)) is not None
    if has_rules and shipped:
        # Runs when the minute ends, so it sees every event shipped during the minute.
        bucket = int(now.timestamp()) // EVENTS_EVERY + 1
        run_at = datetime.fromtimestamp(bucket * EVENTS_EVERY, UTC)
        jobs.enqueue(session, "tags.evaluate", f"tags.evaluate:events:{bucket}", run_at=run_at)
    if check_schedules:
        if has_rules:
            hour = now.strftime("%Y-%m-%dT%H")
            jobs.enqueue(session, "tags.evaluate", f"tags.evaluate:hourly:{hour}")
        segment_jobs.enqueue_due(session, now)
