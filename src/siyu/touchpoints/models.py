"""Touchpoints (触点): every place a customer can meet the brand, by code."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from siyu.core.db import Base, BigId, UTCDateTime, utcnow

GROUPS = (
    "official_account",
    "guide",
    "group",
    "mini_program",
    "store",
    "poster",
    "product_item",
    "paid_ad",
    "sms",
    "mall",
    "other",
)
ENTRY_TYPES = ("organic", "owned", "paid")


class Touchpoint(Base):
    __tablename__ = "touchpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    group: Mapped[str] = mapped_column(String(32), default="other")
    entry_type: Mapped[str] = mapped_column(String(16), default="owned")
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    # A code seen in an event before anyone registered it: kept, flagged, never dropped.
    is_registered: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TouchpointCost(Base):
    """What a paid touchpoint cost in a period, for ROI."""

    __tablename__ = "touchpoint_costs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    touchpoint_id: Mapped[int] = mapped_column(ForeignKey("touchpoints.id"), index=True)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    cost_fen: Mapped[int]
