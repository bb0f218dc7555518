"""Tags and the customers that carry them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.core.db import Base, BigId, UTCDateTime, utcnow

# Enterprise tags are the brand's own; work and life tags describe a persona account's contacts.
GROUPS = ("enterprise", "work", "life", "behaviour", "other")
SOURCES = ("manual", "rule", "import")


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    group: Mapped[str] = mapped_column(String(16), default="other")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CustomerTag(Base):
    """One tag on one customer, and where it came from."""

    __tablename__ = "customer_tags"
    __table_args__ = (
        UniqueConstraint("customer_id", "tag_id"),
        # The list's tag filter walks customers of one tag newest first.
        Index("ix_customer_tags_tag_customer", "tag_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id"))
    source: Mapped[str] = mapped_column(String(16), default="manual")
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
