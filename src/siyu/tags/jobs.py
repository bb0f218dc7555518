"""Tag jobs: re-evaluating auto-tags (and the pass the shipper asks for when events arrived), and
bulk tagging."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from siyu.core import jobs
from siyu.core.db import unit_of_work, utcnow
from siyu.core.lake import refresh_snapshots
from siyu.tags import auto, bulk
from siyu.tags.models import Tag
from siyu.tags.service import bulk_tag

EVENTS_EVERY = 60  # seconds: events shipped within a minute share one auto-tag pass


def run_evaluate(session: Session, payload: dict) -> None:
    """Re-evaluate every auto-tag over a fresh lake snapshot (a re-run changes nothing more)."""
    refresh_snapshots()
    auto.evaluate(session)


def run_hourly_evaluate(session: Session, payload: dict) -> None:
    """The schedule's pass, for conditions that age by time ("no visit in 30 days")."""
    if auto.has_rules(session):
        run_evaluate(session, payload)


def after_shipping(factory: sessionmaker, shipped: int, now: datetime | None = None) -> None:
    """Called by the shipper each round with the events it shipped (nothing to do when none).

    This is work caused by events, not by the clock: the hourly pass is a schedule in siyu.work."""
    if not shipped:
        return
    with unit_of_work(factory=factory) as session:
        queue_pass_for_events(session, shipped, now or utcnow())


def queue_pass_for_events(session: Session, shipped: int, now: datetime) -> None:
    if shipped and auto.has_rules(session):
        # Runs when the minute ends, so it sees every event shipped during the minute.
        bucket = int(now.timestamp()) // EVENTS_EVERY + 1
        run_at = datetime.fromtimestamp(bucket * EVENTS_EVERY, UTC)
        jobs.enqueue(session, "tags.evaluate", f"tags.evaluate:events:{bucket}", run_at=run_at)


def run_bulk(session: Session, payload: dict) -> None:
    tag = session.get(Tag, payload["tag_id"])
    if tag is None:
        return
    remove, actor = payload.get("remove", False), payload["actor"]
    if payload.get("segment"):
        bulk.tag_segment(session, tag, payload["segment"], remove=remove, actor=actor)
    else:
        bulk_tag(session, tag, payload.get("customers", []), remove=remove, actor=actor)
