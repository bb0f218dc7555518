"""Stores, teams and staff (导购 guides, persona accounts, assistants, managers), the guides' daily
adds, and handovers (离职继承 / 在职转接) of customers from one guide to others."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from siyu.core.db import Base, BigId, UTCDateTime, utcnow

STAFF_ROLES = ("guide", "persona", "assistant", "manager")
STAFF_STATUSES = ("active", "left")
MOVE_STATUSES = ("pending", "succeeded", "failed", "refused")


class Store(Base):
    __tablename__ = "stores"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Team(Base):
    """Staff who work together, e.g. a persona account and the assistants who run it."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="guide")
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    wecom_userid: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    status: Mapped[str] = mapped_column(String(10), default="active", server_default="active")
    # How many customers one account can hold (WeCom's contact limit, or a persona's own).
    contact_limit: Mapped[int | None]
    # The guide's own WeCom contact-way URL, where the landing sends a contact routed to them.
    contact_way_url: Mapped[str | None] = mapped_column(String(1000))
    # Created from a callback that named an unknown guide; a sync fills in the details.
    needs_sync: Mapped[bool] = mapped_column(default=False, server_default=false())


class GuideDailyAdds(Base):
    """New contacts routed to a guide on one brand day (for daily add limits)."""

    __tablename__ = "guide_daily_adds"
    __table_args__ = (UniqueConstraint("staff_id", "day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    day: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD in the brand's zone
    adds: Mapped[int] = mapped_column(default=0)


class Handover(Base):
    """Handing a guide's customers and groups on: 离职继承 (leaving) or 在职转接 (moving), or
    customers given a guide by hand (assign: one by one, from a segment or from a list)."""

    __tablename__ = "handovers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # None for an assignment by hand: its customers may come from many guides, or from none.
    from_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    reason: Mapped[str] = mapped_column(String(10))  # leaving | moving | assign
    strategy: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HandoverMove(Base):
    """One customer or group moved from one guide to another, and how it went."""

    __tablename__ = "handover_moves"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    handover_id: Mapped[int] = mapped_column(ForeignKey("handovers.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    external_userid: Mapped[str | None] = mapped_column(String(200), index=True)
    group_chat_id: Mapped[str | None] = mapped_column(String(200))
    # None when the customer had no guide before (an assignment by hand).
    from_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    to_staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    attempt: Mapped[int] = mapped_column(default=1)
    # A failed or refused move waits in the pool until a retry makes a new move for it.
    is_retried: Mapped[bool] = mapped_column(default=False)
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
