"""Stored segments (人群包), their materialised members with entry and exit times, refresh runs,
and the brand's lifecycle days."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from siyu.core.db import Base, BigId, UTCDateTime, utcnow

SCHEDULES = ("manual", "hourly", "daily")
REFRESH_STATUSES = ("queued", "running", "done", "failed")


class Segment(Base):
    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # What it is for (e.g. "双十一召回：发券给沉睡的金卡"), for the rest of the team.
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    rule: Mapped[dict] = mapped_column(JSON)
    schedule: Mapped[str] = mapped_column(String(16), default="daily")
    next_refresh_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    member_count: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SegmentMember(Base):
    """A stay in a segment: entered_at, and exited_at once the rule stops holding.

    Exited rows are kept; a customer who comes back gets a new row (a new stay), so journeys
    can react to every entry. At most one open stay per customer and segment.
    """

    __tablename__ = "segment_members"
    __table_args__ = (
        Index(
            "uq_segment_members_open",
            "segment_id",
            "customer_id",
            unique=True,
            sqlite_where=text("exited_at IS NULL"),
            postgresql_where=text("exited_at IS NULL"),
        ),
        Index("ix_segment_members_entered", "segment_id", "entered_at"),
        Index("ix_segment_members_customer", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(BigId)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    exited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SegmentRefresh(Base):
    """One refresh of a segment's members: asked for, run as a job, with progress."""

    __tablename__ = "segment_refreshes"
    __table_args__ = (Index("ix_segment_refreshes_segment", "segment_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    reason: Mapped[str] = mapped_column(String(16), default="manual")  # manual | schedule
    requested_by: Mapped[str | None] = mapped_column(String(200))
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent
    member_count: Mapped[int | None] = mapped_column(Integer)
    entered: Mapped[int | None] = mapped_column(Integer)
    exited: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LifecycleSettings(Base):
    """The brand's lifecycle thresholds in days (one row; absent means the defaults)."""

    __tablename__ = "lifecycle_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    new_days: Mapped[int] = mapped_column(Integer)
    active_days: Mapped[int] = mapped_column(Integer)
    churned_days: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
