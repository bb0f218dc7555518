"""Tag jobs: re-evaluating auto-tags, and bulk tagging."""

from __future__ import annotations

from sqlalchemy.orm import Session

from siyu.events.snapshots import write_snapshots_if_changed
from siyu.tags import auto, bulk
from siyu.tags.models import Tag
from siyu.tags.service import bulk_tag


def run_evaluate(session: Session, payload: dict) -> None:
    """Re-evaluate every auto-tag over a fresh lake snapshot (a re-run changes nothing more)."""
    write_snapshots_if_changed()
    auto.evaluate(session)


def run_hourly_evaluate(session: Session, payload: dict) -> None:
    """The schedule's pass, for conditions that age by time ("no visit in 30 days")."""
    if auto.has_rules(session):
        run_evaluate(session, payload)


def run_bulk(session: Session, payload: dict) -> None:
    tag = session.get(Tag, payload["tag_id"])
    if tag is None:
        return
    remove, actor = payload.get("remove", False), payload["actor"]
    if payload.get("segment"):
        bulk.tag_segment(session, tag, payload["segment"], remove=remove, actor=actor)
    else:
        bulk_tag(session, tag, payload.get("customers", []), remove=remove, actor=actor)
