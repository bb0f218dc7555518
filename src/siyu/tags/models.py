"""Tags, their groups, the customers that carry them, and every change to that."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.core.db import Base, BigId, UTCDateTime, utcnow

# Enterprise tags are the brand's own (synced with WeCom); work and life tags describe a persona
# account's contacts; lifecycle and rfm hold the built-in auto-tags. A brand adds more groups.
GROUPS = ("enterprise", "work", "life", "behaviour", "lifecycle", "rfm", "other")
SOURCES = ("manual", "rule", "import", "wecom", "bulk")
ACTIONS = ("added", "removed")


class TagGroup(Base):
    """A group a brand added beside the built-in ones."""

    __tablename__ = "tag_groups"

    key: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    group: Mapped[str] = mapped_column(String(16), default="other")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # An auto-tag (自动标签): held exactly while this segment rule holds; None for other tags.
    rule: Mapped[dict | None] = mapped_column(JSON)
    evaluated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The id of the same tag in WeCom (企业标签), set by the WeCom sync.
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)


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


class TagChange(Base):
    """History: a tag added to or removed from a customer, when, and by whom or which rule."""

    __tablename__ = "tag_changes"
    __table_args__ = (
        Index("ix_tag_changes_tag_at", "tag_id", "id"),
        Index("ix_tag_changes_customer", "customer_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigId)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(200))  # user:…, token:…, rule:TAG, cli, wecom
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
