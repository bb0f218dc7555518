"""The demo brand's member tiers and points (会员体系): 普通 / 银卡 / 金卡 by a year's spend, a
point per yuan, a ¥20 coupon on reaching 金卡 and a ¥10 coupon for 300 points.

Its orders were loaded before the tiers existed, so each customer is placed at once: one count
of the year's orders for all of them, their tiers and the year's points written in bulk (one
ledger row per customer, summing the points each order earned less its refunds' share) with
their events, and 金卡's coupon issued to its members through the coupons service."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core.audit import acting_as
from siyu.core.db import unit_of_work
from siyu.orders.models import Order
from siyu.promotions import activities, members, points
from siyu.promotions import service as promotions
from siyu.promotions.member_models import Membership, MemberTier, PointsEntry, TierChange

ACTOR = "cli:demo"
TIERS = (
    ("normal", "普通", 0, None, "积分 1 倍"),
    ("silver", "银卡", 15_000, None, "95 折\n积分 1.5 倍"),
    ("gold", "金卡", 50_000, "gold-welcome", "9 折\n生日礼\n专属导购"),
)


def seed_members(now: datetime) -> int:
    """Set up the tiers and points and place every customer who ordered; how many members (0
    when the tiers exist already: the demo is built once)."""
    with acting_as(ACTOR), unit_of_work() as session:
        if members.tiers(session):
            return 0
        _set_up(session)
    with unit_of_work() as session:
        return _place(session, now)


def _set_up(session: Session) -> None:
    for key, name, fen, each in (("gold-welcome", "金卡礼券 20 元", 2000, 10),
                                 ("points-10", "积分兑 10 元券", 1000, 100)):  # fmt: skip
        promotions.create_template(
            session, key, name, "amount", amount_fen=fen, valid_days=30, per_customer=each,
            actor=ACTOR,
        )  # fmt: skip
    members.set_settings(session, 1, "spend", 365)
    for key, name, least, coupon, benefits in TIERS:
        members.save_tier(session, key, name, least, coupon, benefits)
    points.set_reward(session, "points-10", 300)


def _place(session: Session, now: datetime) -> int:
    since = now - timedelta(days=365)
    net = Order.amount_fen - Order.refunded_fen
    rows = session.execute(
        select(
            Order.customer_id,
            func.sum(net).filter(Order.paid_at > since),
            func.count().filter(Order.paid_at > since, Order.status != "refunded"),
            func.sum(net // 100),  # a point per yuan, each order rounded down
        ).group_by(Order.customer_id)
    ).all()
    ladder = members.tiers(session)
    changes: list[TierChange] = []
    entries: list[PointsEntry] = []
    for customer_id, spend, orders, earned in rows:
        tier = members.tier_for(ladder, int(spend or 0))
        session.add(
            Membership(
                customer_id=customer_id,
                tier_id=tier.id if tier else None,
                points=int(earned or 0),
                spend_fen=int(spend or 0),
                orders=int(orders or 0),
                tier_since=now,
                updated_at=now,
            )
        )
        if tier is not None:
            changes.append(TierChange(customer_id=customer_id, to_tier_id=tier.id, at=now))
        if earned:
            entries.append(PointsEntry(customer_id=customer_id, kind="earn", delta=int(earned),
                                       balance=int(earned), reason="orders before the demo",
                                       at=now))  # fmt: skip
    session.add_all([*changes, *entries])
    session.flush()
    _record(session, ladder, changes, entries, now)
    gold = [c.customer_id for c in changes if c.to_tier_id == ladder[-1].id]
    promotions.issue(session, "gold-welcome", gold, "tier", "demo", now)
    return len(rows)


def _record(
    session: Session,
    ladder: list[MemberTier],
    changes: list[TierChange],
    entries: list[PointsEntry],
    now: datetime,
) -> None:
    named = {t.id: t for t in ladder}
    moved = []
    for change in changes:
        tier = named[change.to_tier_id or 0]
        properties = {"from_tier": None, "to_tier": tier.key, "tier_name": tier.name}
        moved.append(
            activities.Happened(f"tier-changed-{change.id}", change.customer_id, properties)
        )
    activities.record(session, "Tier Changed", now, moved)
    earned = [
        activities.Happened(
            f"points-{e.id}", e.customer_id, {"points": e.delta, "balance": e.balance}
        )
        for e in entries
    ]
    activities.record(session, "Points Earned", now, earned)
