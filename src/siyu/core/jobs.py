"""Durable jobs with leases: enqueued in the caller's transaction, run idempotently by workers."""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import JSON, String, Text, delete, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from siyu.core.db import Base, BigId, UTCDateTime, rowcount, session_factory, utcnow, write_lock
from siyu.core.replay import forget_nonces

log = logging.getLogger("siyu.jobs")

Handler = Callable[[Session, dict], None]
HANDLERS: dict[str, Handler] = {}
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(100), index=True)
    # The job's idempotency key: enqueuing the same key twice is one job.
    key: Mapped[str] = mapped_column(String(300), unique=True)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# Kinds enqueued on a clock (their keys name a minute or an hour, never enqueued again): their
# finished jobs are deleted after DONE_KEPT, or a job booked every minute grows the table for ever.
SCHEDULED: set[str] = set()
DONE_KEPT = timedelta(days=7)
PRUNE_EVERY = timedelta(hours=1)


def handler(kind: str, *, scheduled: bool = False) -> Callable[[Handler], Handler]:
    """Register the function that runs jobs of this kind; `scheduled`: enqueued on a clock."""

    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        if scheduled:
            SCHEDULED.add(kind)
        return fn

    return register


def prune_done(session: Session, now: datetime | None = None) -> int:
    """Delete finished jobs of scheduled kinds older than DONE_KEPT; the caller commits."""
    if not SCHEDULED:
        return 0
    before = (now or utcnow()) - DONE_KEPT
    gone = session.execute(
        delete(Job).where(
            Job.kind.in_(sorted(SCHEDULED)), Job.status == "done", Job.finished_at < before
        )
    )
    return rowcount(gone) or 0


def row_key(kind: str, row_id: int, created_at: datetime) -> str:
    """The key of a job about one row: its id and the moment it was made. SQLite gives a deleted
    row's id to the next row, so an id alone would name an old, finished job, and enqueue would
    return that job instead of queueing the new row's."""
    return f"{kind}:{row_id}:{created_at.astimezone(UTC):%Y%m%dT%H%M%S.%f}"


def enqueue(
    session: Session,
    kind: str,
    key: str,
    payload: dict | None = None,
    run_at: datetime | None = None,
) -> Job:
    """Add a job in the caller's transaction; an existing job with this key is returned as is."""
    existing = session.scalar(select(Job).where(Job.key == key))
    if existing is not None:
        return existing
    job = Job(kind=kind, key=key, payload=payload or {}, run_at=run_at or utcnow())
    session.add(job)
    session.flush()
    return job


def claim(session: Session) -> Job | None:
    """Take the next due job under a lease (SKIP LOCKED on PostgreSQL)."""
    now = utcnow()
    due = (
        select(Job)
        .where(Job.run_at <= now)
        .where(or_(Job.status == "queued", (Job.status == "running") & (Job.lease_until < now)))
        .order_by(Job.run_at, Job.id)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    job = session.scalar(due)
    if job is None:
        return None
    taken = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.attempts == job.attempts)
        .values(status="running", lease_until=now + LEASE, attempts=job.attempts + 1)
    )
    session.commit()
    if rowcount(taken) != 1:
        return None
    session.refresh(job)
    return job


def run_one(factory=None) -> bool:
    """Run one due job; True when one ran (or failed), False when none was due."""
    factory = factory or session_factory()
    with factory() as session:
        job = claim(session)
        if job is None:
            return False
        job_id, kind, payload, attempts = job.id, job.kind, dict(job.payload), job.attempts
    with factory() as session:
        try:
            HANDLERS[kind](session, payload)
            session.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(status="done", finished_at=utcnow(), lease_until=None)
            )
            session.commit()
        except Exception:
            session.rollback()
            _record_failure(session, job_id, attempts, traceback.format_exc())
    return True


def _record_failure(session: Session, job_id: int, attempts: int, error: str) -> None:
    log.warning("job %s failed (attempt %s)", job_id, attempts)
    gave_up = attempts >= MAX_ATTEMPTS
    backoff = timedelta(seconds=min(3600, 2**attempts))
    session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(
            status="failed" if gave_up else "queued",
            run_at=utcnow() + backoff,
            lease_until=None,
            last_error=error[-4000:],
        )
    )
    session.commit()


class Worker(threading.Thread):
    """Runs due jobs until stopped; `siyu serve` starts one, `siyu worker` runs more."""

    def __init__(self, idle_seconds: float = 1.0):
        super().__init__(name="siyu-worker", daemon=True)
        self.idle_seconds = idle_seconds
        self.stopping = threading.Event()

    def run(self) -> None:
        factory = session_factory()
        pruned_at = None
        while not self.stopping.is_set():
            try:
                ran = run_one(factory)
                if not ran and (pruned_at is None or utcnow() - pruned_at >= PRUNE_EVERY):
                    with write_lock(), factory() as session:
                        prune_done(session)
                        forget_nonces(session)
                        session.commit()
                    pruned_at = utcnow()
            except Exception:
                log.exception("job worker error")
                ran = False
            if not ran:
                self.stopping.wait(self.idle_seconds)

    def stop(self) -> None:
        self.stopping.set()
