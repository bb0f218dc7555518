"""Promotions (活动): coupon templates and the coupons issued from them, flash sales
(限时限量) with their reservations, per-customer counts and waiting list, group buys (拼团) with
their groups and members, tiered prices (阶梯价) with their participants, and the refunds the
mall is told to make.

Stock and limits are counters changed by one conditional statement each (`… WHERE issued + n <=
stock`), so no two requests can both take the last unit, on SQLite or on PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.core.db import Base, BigId, UTCDateTime, utcnow

# amount: amount_fen off; percent: percent off (capped at cap_fen when set); threshold: 满减,
# amount_fen off an order of threshold_fen or more; free_item: the item `free_item` free.
COUPON_KINDS = ("amount", "percent", "threshold", "free_item")
# active: may be issued and redeemed; paused: no new issues, issued ones still redeem; ended:
# neither.
TEMPLATE_STATUSES = ("active", "paused", "ended")
# issued → redeemed (→ issued again when a refund returns it) ; issued → expired | void
COUPON_STATUSES = ("issued", "redeemed", "expired", "void")
ISSUE_VIAS = ("manual", "segment", "list", "broadcast", "journey", "qr", "claim", "tier", "points")


class CouponTemplate(Base):
    """What a coupon is worth, when and where it holds, and how many may be issued."""

    __tablename__ = "coupon_templates"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(12))
    amount_fen: Mapped[int] = mapped_column(default=0)
    percent: Mapped[int] = mapped_column(default=0)  # 1-99: the share taken off
    cap_fen: Mapped[int | None] = mapped_column()  # a percent coupon's most
    threshold_fen: Mapped[int] = mapped_column(default=0)  # the least order it applies to
    free_item: Mapped[str | None] = mapped_column(String(64))  # a SKU
    # validity: fixed dates, or valid_days from the moment each coupon is issued
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_days: Mapped[int | None] = mapped_column()
    stock: Mapped[int | None] = mapped_column()  # None: no limit
    issued: Mapped[int] = mapped_column(default=0)
    per_customer: Mapped[int] = mapped_column(default=1)
    # where it holds: empty lists mean everywhere
    stores: Mapped[list[str]] = mapped_column(JSON, default=list)
    products: Mapped[list[str]] = mapped_column(JSON, default=list)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    stacks: Mapped[bool] = mapped_column(default=False)  # with other coupons on one order
    returnable: Mapped[bool] = mapped_column(default=True)  # a refunded order returns it
    claimable: Mapped[bool] = mapped_column(default=False)  # customers may claim it on a page
    status: Mapped[str] = mapped_column(String(10), default="active")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Coupon(Base):
    """One coupon held by one customer, under an unguessable code."""

    __tablename__ = "coupons"
    __table_args__ = (
        Index("ix_coupons_customer_template", "customer_id", "template_id"),
        Index("ix_coupons_status_expires", "status", "expires_at"),
        Index("ix_coupons_via", "via", "via_ref"),  # what a broadcast or journey handed out
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("coupon_templates.id"), index=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[str] = mapped_column(String(10), default="issued")
    via: Mapped[str] = mapped_column(String(12), default="manual")
    via_ref: Mapped[str | None] = mapped_column(String(64))  # the broadcast, journey, code …
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    order_id: Mapped[str | None] = mapped_column(String(128))  # the order that redeemed it
    discount_fen: Mapped[int] = mapped_column(default=0)
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # told it expires soon


class CouponHolding(Base):
    """How many coupons of a template a customer has been issued: the per-customer limit's
    counter, raised by one conditional upsert."""

    __tablename__ = "coupon_holdings"

    template_id: Mapped[int] = mapped_column(
        ForeignKey("coupon_templates.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)


# scheduled → (live between starts_at and ends_at) ; paused stops new reservations; ended
# stops them for good (held ones may still be confirmed until they lapse).
SALE_STATUSES = ("active", "paused", "ended")
# held → confirmed (an order) → refunded ; held → lapsed (the hold ran out) | cancelled
RESERVATION_STATUSES = ("held", "confirmed", "lapsed", "cancelled", "refunded")


class FlashSale(Base):
    """限时限量: a product at a price, so many units, so many each, between two moments."""

    __tablename__ = "flash_sales"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    product: Mapped[str] = mapped_column(String(64))  # the mall's SKU
    price_fen: Mapped[int] = mapped_column()
    list_price_fen: Mapped[int | None] = mapped_column()  # the usual price, to show the saving
    stock: Mapped[int] = mapped_column()
    held: Mapped[int] = mapped_column(default=0)  # in reservations not yet confirmed
    sold: Mapped[int] = mapped_column(default=0)  # in confirmed reservations
    per_customer: Mapped[int] = mapped_column(default=1)
    hold_minutes: Mapped[int] = mapped_column(default=15)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default="active")
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FlashReservation(Base):
    """Units held for one customer until `expires_at`, then sold (an order) or returned."""

    __tablename__ = "flash_reservations"
    __table_args__ = (
        Index("ix_flash_reservations_status_expires", "status", "expires_at"),
        Index("ix_flash_reservations_sale_customer", "sale_id", "customer_id"),
        UniqueConstraint("sale_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sale_id: Mapped[int] = mapped_column(ForeignKey("flash_sales.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    quantity: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(10), default="held")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    order_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # confirmed, lapsed, …


class FlashBuyer(Base):
    """How many units a customer holds or bought in a sale: the per-customer limit's counter."""

    __tablename__ = "flash_buyers"

    sale_id: Mapped[int] = mapped_column(
        ForeignKey("flash_sales.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column(default=0)


class FlashWaiter(Base):
    """A customer waiting for a sold-out sale's lapsed units, in the order they asked."""

    __tablename__ = "flash_waiters"
    __table_args__ = (UniqueConstraint("sale_id", "customer_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sale_id: Mapped[int] = mapped_column(ForeignKey("flash_sales.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    quantity: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(10), default="waiting")  # waiting | served | left
    reservation_id: Mapped[int | None] = mapped_column(ForeignKey("flash_reservations.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# open → succeeded (N members, or robot-filled at the deadline) | failed (short at the deadline)
GROUP_STATUSES = ("open", "succeeded", "failed")


class GroupBuy(Base):
    """拼团: a product at a price for groups of `size` that fill within `hours` of opening."""

    __tablename__ = "group_buys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    product: Mapped[str] = mapped_column(String(64))  # the mall's SKU
    price_fen: Mapped[int] = mapped_column()
    size: Mapped[int] = mapped_column()  # members a group needs, the leader included
    hours: Mapped[int] = mapped_column()  # to fill a group from its opening
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    robot_fill: Mapped[bool] = mapped_column(default=False)  # the house fills a short group
    # active → paused ⇄ active → ended: only an active one opens new groups
    status: Mapped[str] = mapped_column(String(10), default="active", server_default="active")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BuyGroup(Base):
    """One group (团) of a group buy, opened by its leader and joined by its share code."""

    __tablename__ = "group_buy_groups"
    __table_args__ = (Index("ix_group_buy_groups_status_deadline", "status", "deadline"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    group_buy_id: Mapped[int] = mapped_column(
        ForeignKey("group_buys.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(24), unique=True)  # the share code
    leader_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    size: Mapped[int] = mapped_column()  # the group buy's, kept on the row its joiners update
    members: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(10), default="open")
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    robot_filled: Mapped[int] = mapped_column(default=0)  # places the house filled
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # succeeded or failed


class GroupMember(Base):
    """A customer in a group, with the order that paid for the place (the leader's too)."""

    __tablename__ = "group_buy_members"
    __table_args__ = (UniqueConstraint("group_id", "customer_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("group_buy_groups.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    order_id: Mapped[str] = mapped_column(String(128), unique=True)  # one order pays one place
    amount_fen: Mapped[int] = mapped_column()  # what the order paid, refunded if the group fails
    is_leader: Mapped[bool] = mapped_column(default=False)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# active ⇄ paused → closed (by the operator, or at its end): the final price is set then
TIERED_STATUSES = ("active", "paused", "closed")


class TieredPrice(Base):
    """阶梯价: a product whose price steps down as participants grow; at the close each is owed
    the difference between what they paid and the final price."""

    __tablename__ = "tiered_prices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    product: Mapped[str] = mapped_column(String(64))  # the mall's SKU
    base_price_fen: Mapped[int] = mapped_column()  # before the first tier
    # [[least participants, price in fen], …]: the least counts rising, the prices falling
    tiers: Mapped[list[list[int]]] = mapped_column(JSON, default=list)
    participants: Mapped[int] = mapped_column(default=0)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default="active")
    final_price_fen: Mapped[int | None] = mapped_column()  # set when it closes
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TieredParticipant(Base):
    """A customer in a tiered-price activity: their place in the count and the price charged."""

    __tablename__ = "tiered_participants"
    __table_args__ = (
        UniqueConstraint("activity_id", "customer_id"),
        UniqueConstraint("activity_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("tiered_prices.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    order_id: Mapped[str] = mapped_column(String(128))
    place: Mapped[int] = mapped_column(default=0)  # the count with them in it
    price_fen: Mapped[int] = mapped_column(default=0)  # what the mall was told to charge
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


REFUND_KINDS = ("group_buy", "tiered")
# pending (the mall is to refund) → confirmed (the mall says it did, with its reference)
REFUND_STATUSES = ("pending", "confirmed")


class PromotionRefund(Base):
    """An instruction to the mall to refund an order (a failed group's place, a tiered price's
    difference), tracked until the mall confirms it. One per member or participant: unique."""

    __tablename__ = "promotion_refunds"
    __table_args__ = (Index("ix_promotion_refunds_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("group_buy_members.id", ondelete="CASCADE"), unique=True
    )
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("tiered_participants.id", ondelete="CASCADE"), unique=True
    )
    activity: Mapped[str] = mapped_column(String(64))  # the group buy's or tiered price's key
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    order_id: Mapped[str] = mapped_column(String(128))
    amount_fen: Mapped[int] = mapped_column()
    reason: Mapped[str] = mapped_column(String(32))  # group_failed | tiered_difference
    status: Mapped[str] = mapped_column(String(10), default="pending")
    reference: Mapped[str | None] = mapped_column(String(128))  # the mall's, when confirmed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
