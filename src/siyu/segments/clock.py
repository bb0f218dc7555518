"""What the shipper asks for after each round: an auto-tag pass when events arrived.

This is work caused by events, not by the clock: the recurring passes (the hourly auto-tag pass,
scheduled segment refreshes) are schedules in siyu.work."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from siyu.core import jobs
from siyu.core.db import utcnow
from siyu.tags.auto import has_rules

EVENTS_EVERY = 60  # seconds: events shipped within a minute share one auto-tag pass


def after_shipping(factory: sessionmaker, shipped: int, now: datetime | None = None) -> None:
    """Called by the shipper each round with the events it shipped (nothing to do when none)."""
    if not shipped:
        return
    with factory() as session:
        enqueue_work(session, shipped, now or utcnow())
        session.commit()


def enqueue_work(session: Session, shipped: int, now: datetime) -> None:
    if shipped and has_rules(session):
        # Runs when the minute ends, so it sees every event shipped during the minute.
        bucket = int(now.timestamp()) // EVENTS_EVERY + 1
        run_at = datetime.fromtimestamp(bucket * EVENTS_EVERY, UTC)
        jobs.enqueue(session, "tags.evaluate", f"tags.evaluate:events:{bucket}", run_at=run_at)
