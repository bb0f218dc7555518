"""Customers, the identities that point at them, and the record of every merge."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, column
from sqlalchemy.orm import Mapped, mapped_column

from siyu.core.db import Base, BigId, UTCDateTime, utcnow


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        Index("ix_customers_first_touchpoint", "first_touchpoint"),
        # Name search: a prefix match on traits.name, one expression for SQLite and PostgreSQL
        # (siyu.profiles.search queries this index's own expression).
        Index("ix_customers_name", column("traits", JSON)["name"].as_string()),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    traits: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    first_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_touchpoint: Mapped[str | None] = mapped_column(String(128))
    first_touch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_touchpoint: Mapped[str | None] = mapped_column(String(128))
    last_touch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    # True once any identity other than an anonymous id points here.
    is_identified: Mapped[bool] = mapped_column(default=False)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)


class Identity(Base):
    __tablename__ = "identities"
    __table_args__ = (
        UniqueConstraint("type", "value"),
        # Search finds a customer by any identity value without knowing its type.
        Index("ix_identities_value", "value"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CustomerMerge(Base):
    """One merge, with all it takes to undo it."""

    __tablename__ = "customer_merges"
    __table_args__ = (Index("ix_customer_merges_merged", "merged_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kept_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    merged_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    reason: Mapped[str] = mapped_column(String(20))  # manual | identify | alias
    actor: Mapped[str] = mapped_column(String(200))
    moved_identity_ids: Mapped[list] = mapped_column(JSON, default=list)
    moved_order_ids: Mapped[list] = mapped_column(JSON, default=list)
    kept_before: Mapped[dict] = mapped_column(JSON, default=dict)
    merged_before: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undone_by: Mapped[str | None] = mapped_column(String(200))
