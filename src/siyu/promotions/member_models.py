"""Member tiers and points (会员体系): the brand's tiers with their thresholds and benefits, each
customer's membership (tier, points balance), the points ledger (every movement a row with the
balance after it), the tier changes, the coupon templates points buy, and flash-sale prices per
tier.

A balance changes only by one conditional statement (`… WHERE points + delta >= 0`), so racing
spends never take it below zero on SQLite or on PostgreSQL."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from siyu.core.db import Base, BigId, UTCDateTime, utcnow

# What a tier's threshold counts over the rolling window: yuan paid (in fen, net of refunds)
# or orders (not wholly refunded).
TIER_BASES = ("spend", "orders")
# earn: an order paid; reverse: its refund; spend: a coupon bought; adjust: by hand, with a reason
POINTS_KINDS = ("earn", "reverse", "spend", "adjust")


class MemberSettings(Base):
    """The brand's one row of member rules: points per yuan paid (rounded down), and what the
    tiers count over how many days."""

    __tablename__ = "member_settings"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1
    points_per_yuan: Mapped[int] = mapped_column(default=0)  # 0: no points earned
    basis: Mapped[str] = mapped_column(String(8), default="spend")
    window_days: Mapped[int] = mapped_column(default=365)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class MemberTier(Base):
    """A tier (普通 / 银卡 / 金卡): reached at `least` (fen or orders, by the settings' basis)
    within the window; its benefits are a coupon issued on reaching it and its text."""

    __tablename__ = "member_tiers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    least: Mapped[int] = mapped_column(BigInteger, unique=True)
    coupon_template_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_templates.id"))
    benefits: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Membership(Base):
    """A customer's tier and points balance, with what the window held at the last count."""

    __tablename__ = "memberships"
    __table_args__ = (Index("ix_memberships_tier", "tier_id"),)

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    tier_id: Mapped[int | None] = mapped_column(ForeignKey("member_tiers.id", ondelete="SET NULL"))
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    spend_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    orders: Mapped[int] = mapped_column(default=0)
    tier_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PointsEntry(Base):
    """One movement of a customer's points and the balance after it; `key` makes an order's
    earning and each refund's reversal happen once."""

    __tablename__ = "points_ledger"
    __table_args__ = (Index("ix_points_ledger_customer", "customer_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(8))
    delta: Mapped[int] = mapped_column(BigInteger)
    balance: Mapped[int] = mapped_column(BigInteger)
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    order_id: Mapped[str | None] = mapped_column(String(128), index=True)
    reason: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TierChange(Base):
    """A customer moved from one tier to another (None: no tier); an upward move's coupon."""

    __tablename__ = "member_tier_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    from_tier_id: Mapped[int | None] = mapped_column(
        ForeignKey("member_tiers.id", ondelete="SET NULL")
    )
    to_tier_id: Mapped[int | None] = mapped_column(
        ForeignKey("member_tiers.id", ondelete="SET NULL")
    )
    coupon_code: Mapped[str | None] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PointsReward(Base):
    """A coupon template customers may buy with points, at its points price."""

    __tablename__ = "points_rewards"

    template_id: Mapped[int] = mapped_column(
        ForeignKey("coupon_templates.id", ondelete="CASCADE"), primary_key=True
    )
    points: Mapped[int] = mapped_column(BigInteger)


class FlashTierPrice(Base):
    """A flash sale's price for the members of one tier."""

    __tablename__ = "flash_tier_prices"

    sale_id: Mapped[int] = mapped_column(
        ForeignKey("flash_sales.id", ondelete="CASCADE"), primary_key=True
    )
    tier_id: Mapped[int] = mapped_column(
        ForeignKey("member_tiers.id", ondelete="CASCADE"), primary_key=True
    )
    price_fen: Mapped[int] = mapped_column()


class FlashMemberPrice(Base):
    """The price a reservation of a sale with tier prices was made at (the customer's tier's)."""

    __tablename__ = "flash_member_prices"

    reservation_id: Mapped[int] = mapped_column(
        ForeignKey("flash_reservations.id", ondelete="CASCADE"), primary_key=True
    )
    price_fen: Mapped[int] = mapped_column()
