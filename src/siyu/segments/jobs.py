"""Segment refreshes as durable jobs, and the clock that starts scheduled ones."""

from __future__ import annotations

import traceback
from datetime import datetime

from sqlalchemy.orm import Session

from siyu.core.db import commit_progress, utcnow
from siyu.core.lake import refresh_snapshots
from siyu.segments import service
from siyu.segments.models import Segment, SegmentRefresh


def run_refresh(session: Session, payload: dict) -> None:
    """Refresh one segment (idempotent: a finished run is not run again, a retry re-diffs)."""
    run = session.get(SegmentRefresh, payload["refresh_id"])
    if run is None or run.status == "done":
        return
    segment = session.get_one(Segment, run.segment_id)
    run.status, run.started_at, run.progress = "running", utcnow(), 5
    commit_progress(session, "the refresh is running")
    # Tags set by hand a moment ago must be in the lake's snapshot the rule reads.
    refresh_snapshots()

    def progress(percent: int) -> None:
        run.progress = percent
        commit_progress(session, f"the refresh is at {percent} %")

    try:
        count, entered, exited = service.refresh(session, segment, progress=progress)
    except Exception:
        session.rollback()
        run.status, run.error, run.finished_at = "failed", traceback.format_exc()[-2000:], utcnow()
        commit_progress(session, "the refresh failed")  # kept through the job's rollback
        raise
    run.status, run.progress, run.finished_at = "done", 100, utcnow()
    run.member_count, run.entered, run.exited = count, entered, exited
    session.flush()


def enqueue_due(session: Session, now: datetime | None = None) -> int:
    """Ask for a refresh of every scheduled segment that is due; returns how many."""
    due = service.due_segments(session, now)
    for segment in due:
        service.request_refresh(session, segment, reason="schedule", requested_by="schedule")
        # Pushed on now, so a refresh that keeps failing does not pile up requests.
        period = service.PERIODS.get(segment.schedule)
        segment.next_refresh_at = (now or utcnow()) + period if period else None
    return len(due)
