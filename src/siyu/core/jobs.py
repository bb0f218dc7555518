"""Durable jobs with leases: enqueued in the caller's transaction, run idempotently by workers."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Index, Select, String, Text, delete, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from siyu.core.db import Base, BigId, UTCDateTime, rowcount, session_factory, utcnow

log = logging.getLogger("siyu.jobs")

# What runs a job of one kind. The kinds and their handlers are listed in one place, siyu.work,
# and handed to the worker: a job's handler never depends on which modules happened to load.
Handler = Callable[[Session, dict[str, Any]], None]
Handlers = Mapping[str, Handler]
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8


class Job(Base):
    __tablename__ = "jobs"
    # A claim reads the oldest due job of one status in this order: with 100,000 jobs due at
    # once, each claim is one step down the index instead of a sort of the whole queue.
    __table_args__ = (Index("ix_jobs_status_run_at_id", "status", "run_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(100), index=True)
    # The job's idempotency key: enqueuing the same key twice is one job.
    key: Mapped[str] = mapped_column(String(300), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    run_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# Jobs of clock kinds (booked by a schedule, or keyed by a minute or an hour) are never booked
# again once done: they are deleted after DONE_KEPT, or a job booked every minute grows the table
# for ever.
DONE_KEPT = timedelta(days=7)


def prune_done(session: Session, kinds: Collection[str], now: datetime | None = None) -> int:
    """Delete finished jobs of these (clock) kinds older than DONE_KEPT; the caller commits."""
    if not kinds:
        return 0
    before = (now or utcnow()) - DONE_KEPT
    gone = session.execute(
        delete(Job).where(
            Job.kind.in_(sorted(kinds)), Job.status == "done", Job.finished_at < before
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
    payload: dict[str, Any] | None = None,
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
    """Take the next due job under a lease (SKIP LOCKED on PostgreSQL): the oldest by (run_at,
    id) of the queued jobs that are due and the running jobs whose lease has lapsed."""
    now = utcnow()
    queued = _oldest(session, select(Job).where(Job.status == "queued"), now)
    lapsed = _oldest(
        session, select(Job).where(Job.status == "running", Job.lease_until < now), now
    )
    found = [job for job in (queued, lapsed) if job is not None]
    if not found:
        return None
    job = min(found, key=lambda j: (j.run_at, j.id))
    leased = {"status": "running", "lease_until": now + LEASE, "attempts": job.attempts + 1}
    taken = session.execute(
        update(Job).where(Job.id == job.id, Job.attempts == job.attempts).values(**leased)
    )
    session.commit()
    if rowcount(taken) != 1:
        return None
    for name, value in leased.items():  # what the update wrote, without reading it back
        set_committed_value(job, name, value)
    return job


def _oldest(session: Session, of_status: Select[Job], now: datetime) -> Job | None:
    """The first due job of one status in ix_jobs_status_run_at_id's order. The two statuses are
    read apart because an OR of them makes both databases sort every queued job per claim."""
    due = of_status.where(Job.run_at <= now).order_by(Job.run_at, Job.id).limit(1)
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    return session.scalar(due)


def run_one(handlers: Handlers, factory: sessionmaker[Session] | None = None) -> bool:
    """Run one due job; True when one ran (or failed), False when none was due. A kind with no
    handler fails like any job that raises, and its error says so."""
    factory = factory or session_factory()
    with factory() as session:
        job = claim(session)
        if job is None:
            return False
        job_id, kind, payload, attempts = job.id, job.kind, dict(job.payload), job.attempts
    with factory() as session:
        try:
            handle = handlers.get(kind)
            if handle is None:
                raise LookupError(f"no handler for job kind {kind!r} (siyu.work lists them)")
            handle(session, payload)
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
