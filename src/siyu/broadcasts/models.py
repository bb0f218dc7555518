"""Broadcasts (群发): one message to an audience, its A/B variants, and an uploaded list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.core.db import Base, BigId, UTCDateTime, utcnow

AUDIENCE_KINDS = ("segment", "tags", "list")
# draft → scheduled (a time is set) → sending (planned; deliveries go out) → sent (none left to
# send); cancelled at any point before sent stops what has not been handed over.
STATUSES = ("draft", "scheduled", "sending", "sent", "cancelled")
MAX_HOLDOUT_PERCENT = 50
MAX_VARIANTS = 5
DEFAULT_WINDOW_DAYS = 7


class Broadcast(Base):
    """A message to everyone in an audience who may be reached, once."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default="draft")
    audience: Mapped[str] = mapped_column(String(10))  # segment | tags | list
    segment_key: Mapped[str | None] = mapped_column(String(64))
    # tags: {"any": [tag names], "all": [...], "none": [...]}
    tag_filter: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)  # the fallback order
    purpose: Mapped[str] = mapped_column(String(14), default="marketing")
    holdout_percent: Mapped[int] = mapped_column(default=0)
    window_days: Mapped[int] = mapped_column(default=DEFAULT_WINDOW_DAYS)  # results: orders within
    # A coupon template's key: each customer the broadcast plans a message for gets one coupon
    coupon_template: Mapped[str | None] = mapped_column(String(64))
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    planned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class BroadcastVariant(Base):
    """One version of the message (A, B, …) and its share of those not held out; its text per
    channel is a messaging content (message_contents), named in `contents` by channel."""

    __tablename__ = "broadcast_variants"
    __table_args__ = (UniqueConstraint("broadcast_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(16))
    weight: Mapped[int] = mapped_column(default=1)
    contents: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # channel → content id


class BroadcastListMember(Base):
    """A customer of an uploaded list (audience `list`)."""

    __tablename__ = "broadcast_list_members"

    broadcast_id: Mapped[int] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(BigId, primary_key=True)
