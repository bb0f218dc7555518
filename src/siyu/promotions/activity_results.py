"""What a group buy's and a tiered price's pages show as they run: the open groups with their
members and time left, the latest closed ones, the refunds emitted and confirmed, the orders
and GMV, and per-day counts for their charts (each one query)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from siyu.core.settings import get_settings
from siyu.customers.models import Customer
from siyu.promotions.coupon_templates import _local_day
from siyu.promotions.models import (
    BuyGroup,
    GroupBuy,
    GroupMember,
    PromotionRefund,
    TieredParticipant,
    TieredPrice,
)

GROUPS_SHOWN = 20
CHART_DAYS = 120


def refunds(session: Session, kind: str, key: str) -> dict[str, int]:
    """The activity's refunds: how many and how much emitted, and of them confirmed."""
    confirmed = PromotionRefund.status == "confirmed"
    row = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(PromotionRefund.amount_fen), 0),
            func.coalesce(func.sum(case((confirmed, 1), else_=0)), 0),
            func.coalesce(func.sum(case((confirmed, PromotionRefund.amount_fen), else_=0)), 0),
        ).where(PromotionRefund.kind == kind, PromotionRefund.activity == key)
    ).one()
    issued, issued_fen, done, done_fen = (int(n) for n in row)
    return {
        "issued": issued,
        "issued_fen": issued_fen,
        "confirmed": done,
        "confirmed_fen": done_fen,
    }


def group_orders(session: Session, activity: GroupBuy) -> dict[str, int]:
    """The orders that paid for places and their GMV, a failed group's (refunded) left out."""
    row = session.execute(
        select(func.count(), func.coalesce(func.sum(GroupMember.amount_fen), 0))
        .join(BuyGroup, BuyGroup.id == GroupMember.group_id)
        .where(BuyGroup.group_buy_id == activity.id, BuyGroup.status != "failed")
    ).one()
    return {"orders": int(row[0]), "gmv_fen": int(row[1])}


def groups(
    session: Session, activity: GroupBuy, open_ones: bool, limit: int = GROUPS_SHOWN
) -> list[dict[str, Any]]:
    """The activity's open groups by the nearest deadline, or its closed ones (succeeded or
    failed) the latest first, each with its members' names in the order they joined."""
    order = BuyGroup.deadline if open_ones else BuyGroup.closed_at.desc()
    statuses = ("open",) if open_ones else ("succeeded", "failed")
    found = session.scalars(
        select(BuyGroup)
        .where(BuyGroup.group_buy_id == activity.id, BuyGroup.status.in_(statuses))
        .order_by(order, BuyGroup.id)
        .limit(limit)
    ).all()
    members = session.execute(
        select(GroupMember.group_id, GroupMember.customer_id, Customer.traits)
        .join(Customer, Customer.id == GroupMember.customer_id)
        .where(GroupMember.group_id.in_([g.id for g in found]))
        .order_by(GroupMember.id)
    ).all()
    names: dict[int, list[dict[str, Any]]] = {g.id: [] for g in found}
    for group_id, customer_id, traits in members:
        names[group_id].append({"id": customer_id, "name": str((traits or {}).get("name") or "")})
    return [{"group": g, "members": names[g.id]} for g in found]


def _days(first: date, last: date) -> list[date]:
    today = datetime.now(get_settings().zone).date()
    last = min(last, today) if first <= today else first
    first = max(first, last - timedelta(days=CHART_DAYS - 1))
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _window(activity: GroupBuy | TieredPrice) -> tuple[date, date]:
    zone = get_settings().zone
    return activity.starts_at.astimezone(zone).date(), activity.ends_at.astimezone(zone).date()


def daily_groups(session: Session, activity: GroupBuy) -> dict[str, list[Any]]:
    """Groups opened per day of the brand, by what became of them (open, succeeded, failed)."""
    day = _local_day(BuyGroup.opened_at, session.get_bind().dialect.name)
    rows = session.execute(
        select(day, BuyGroup.status, func.count())
        .where(BuyGroup.group_buy_id == activity.id)
        .group_by(day, BuyGroup.status)
    ).all()
    counts = {(date.fromisoformat(str(d)), status): int(n) for d, status, n in rows if d}
    days = _days(*_window(activity))
    chart: dict[str, list[Any]] = {"days": [d.isoformat() for d in days]}
    for status in ("succeeded", "failed", "open"):
        chart[status] = [counts.get((d, status), 0) for d in days]
    return chart


def daily_participants(session: Session, activity: TieredPrice) -> dict[str, list[Any]]:
    """Participants joined per day of the brand, and the count reached by each day's end."""
    day = _local_day(TieredParticipant.joined_at, session.get_bind().dialect.name)
    rows = session.execute(
        select(day, func.count()).where(TieredParticipant.activity_id == activity.id).group_by(day)
    ).all()
    counts = {date.fromisoformat(str(d)): int(n) for d, n in rows if d}
    days = _days(*_window(activity))
    before = sum(n for d, n in counts.items() if days and d < days[0])
    joined = [counts.get(d, 0) for d in days]
    reached = []
    for n in joined:
        before += n
        reached.append(before)
    return {"days": [d.isoformat() for d in days], "joined": joined, "reached": reached}


def tiered_orders(session: Session, activity: TieredPrice) -> dict[str, int]:
    """The participants' orders and what they paid when they joined."""
    row = session.execute(
        select(func.count(), func.coalesce(func.sum(TieredParticipant.price_fen), 0)).where(
            TieredParticipant.activity_id == activity.id
        )
    ).one()
    return {"orders": int(row[0]), "paid_fen": int(row[1])}
