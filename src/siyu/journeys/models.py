"""Journeys' tables: a journey and its published versions, the customers inside one (entries),
and each step an entry has run, so the engine records every step once.

An entry is unique per (journey, customer, entry key): the entry key names what let the customer
in (the event's messageId, a segment stay, a schedule's tick), so the same event replayed enters
no one twice. An entry stays on the version it entered with; publishing makes a new version for
the customers who enter after.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from siyu.core.db import Base, BigId, UTCDateTime, utcnow

JOURNEY_STATUSES = ("draft", "active", "paused", "archived")
ENTRY_STATUSES = ("active", "completed", "exited")
# Why an entry ended early: an exit condition held, an exit step, the holdout of the journey,
# the journey archived.
EXIT_REASONS = ("exit_condition", "exit_step", "holdout", "archived", "failed")
STEP_RUN_STATUSES = ("done", "waiting", "failed")


class Journey(Base):
    """A journey or SOP (旅程 / SOP). `current_version` is the published version new entries get
    (None until the first publish)."""

    __tablename__ = "journeys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default="draft")
    current_version: Mapped[int | None] = mapped_column()
    # Segment, tag and schedule entries are admitted by a recurring job up to this moment.
    admitted_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(200))


class JourneyVersion(Base):
    """One version of a journey's definition (journeys.definition). Unpublished (published_at
    None) is the draft; a published version never changes."""

    __tablename__ = "journey_versions"
    __table_args__ = (UniqueConstraint("journey_id", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("journeys.id"))
    version: Mapped[int] = mapped_column()
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by: Mapped[str | None] = mapped_column(String(200))


class JourneyEntry(Base):
    """One customer's way through one version of a journey."""

    __tablename__ = "journey_entries"
    __table_args__ = (
        UniqueConstraint("journey_id", "customer_id", "entry_key"),
        # A customer is inside a journey once at a time, whatever its re-entry policy.
        Index(
            "uq_journey_entries_active",
            "journey_id",
            "customer_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_journey_entries_customer", "customer_id", "journey_id"),
        Index("ix_journey_entries_waiting", "waiting_event", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("journeys.id"))
    version: Mapped[int] = mapped_column()
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    entry_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default="active")
    current_step: Mapped[str | None] = mapped_column(String(64))
    arm: Mapped[str | None] = mapped_column(String(32))  # "holdout", or a split's variant key
    # A wait for an event: its name while waiting (the event written wakes the entry).
    waiting_event: Mapped[str | None] = mapped_column(String(200))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    exit_reason: Mapped[str | None] = mapped_column(String(20))


class JourneyStepRun(Base):
    """A step an entry ran: once per (entry, step), whatever the retries."""

    __tablename__ = "journey_step_runs"
    __table_args__ = (UniqueConstraint("entry_id", "step_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journey_entries.id"))
    step_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10), default="done")
    outcome: Mapped[str | None] = mapped_column(String(64))  # the branch taken, the variant…
    error: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JourneyContent(Base):
    """The message content (messaging's MessageContent) of one send step of one published
    version on one channel: stored once when the version is published, named by every delivery
    the step makes."""

    __tablename__ = "journey_contents"
    __table_args__ = (UniqueConstraint("journey_id", "version", "step_id", "channel"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("journeys.id"))
    version: Mapped[int] = mapped_column()
    step_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(20))
    content_id: Mapped[int] = mapped_column(ForeignKey("message_contents.id"))
