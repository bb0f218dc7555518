"""Recurring work as cron ticks booked in the jobs table: every tick is one job, once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter
from sqlalchemy import Insert, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from siyu.core.db import utcnow
from siyu.core.jobs import Job


@dataclass(frozen=True)
class Schedule:
    """A named piece of recurring work: a job `kind` booked at every `cron` tick, read in the
    brand's time zone (so "0 3 * * *" is three at night where the brand is)."""

    name: str
    cron: str
    kind: str
    summary: str
    payload: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not croniter.is_valid(self.cron):
            raise ValueError(f"schedule {self.name}: not a cron expression: {self.cron!r}")

    def latest_tick(self, now: datetime, zone: ZoneInfo) -> datetime:
        """The last tick at or before `now` (UTC)."""
        # croniter's get_prev is strictly before its start, at whole seconds: start at the next
        # whole second, so a tick that falls exactly on `now` is the latest one, and one that
        # falls in the fraction of a second after `now` is not (it is still in the future).
        start = now.astimezone(zone).replace(microsecond=0) + timedelta(seconds=1)
        return croniter(self.cron, start).get_prev(datetime).astimezone(UTC)

    def next_tick(self, now: datetime, zone: ZoneInfo) -> datetime:
        """The first tick after `now` (UTC)."""
        return croniter(self.cron, now.astimezone(zone)).get_next(datetime).astimezone(UTC)

    def tick_key(self, tick: datetime) -> str:
        """The job key of one tick: unique in the jobs table, so a tick is booked once."""
        return f"schedule:{self.name}:{tick.astimezone(UTC):%Y%m%dT%H%M}"


def book_due(
    session: Session, schedules: Iterable[Schedule], zone: ZoneInfo, now: datetime | None = None
) -> int:
    """Book the latest tick of every schedule as a job; returns how many were new.

    Only the latest tick is booked: after downtime a schedule runs once, not once per missed
    tick. Workers in any number of processes may call this at once: the tick's key is unique
    and the insert skips a key that exists, so each tick is one job, run once under its lease.
    The caller commits."""
    now = now or utcnow()
    booked = 0
    for schedule in schedules:
        tick = schedule.latest_tick(now, zone)
        row = {
            "kind": schedule.kind,
            "key": schedule.tick_key(tick),
            "payload": dict(schedule.payload),
            "status": "queued",
            "run_at": tick,
            "attempts": 0,
            "created_at": now,
        }
        # RETURNING says whether a row went in (an ORM insert's rowcount is -1 on psycopg).
        booked += len(session.execute(_insert_new(session, row).returning(Job.id)).all())
    return booked


def _insert_new(session: Session, row: dict[str, Any]) -> Insert:
    """INSERT … ON CONFLICT (key) DO NOTHING, in the database's own words."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(Job).values(row).on_conflict_do_nothing(index_elements=["key"])
    if dialect == "sqlite":
        return sqlite.insert(Job).values(row).on_conflict_do_nothing(index_elements=["key"])
    return insert(Job).values(row)  # pragma: no cover - Siyu runs on SQLite and PostgreSQL
