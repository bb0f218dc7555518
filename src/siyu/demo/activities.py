"""The demo brand's activities (活动) over its year, through the promotions services at their
times: a small flash sale (限时限量) every Friday, and a big one every month, a group buy (拼团)
mid-month and a tiered price (阶梯价) late in the month.

The places are paid for by orders the demo generated, which went through the normal `Order
Completed` path (so the order reports and attribution count them once): each activity takes
some of the orders of its window, oldest first, as the mall's checkout would have sent them. A
group whose time ran out short fails and its members are refunded; a tiered price closes at its
end and refunds the differences; the mall confirms the refunds older than a few days.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.audit import acting_as
from siyu.core.db import commit_progress, unit_of_work
from siyu.core.errors import SiyuError
from siyu.events.models import OutboxEvent
from siyu.promotions import flash, group_buys, refunds, tiered
from siyu.promotions.models import FlashSale

ACTOR = "cli:demo"
FLASH_ORDERS, GROUP_ORDERS, TIERED_ORDERS = 6, 15, 20  # orders each activity takes
GROUP_HOURS = 4  # short enough that some groups of a quiet day fail and are refunded
CONFIRMED_AFTER = timedelta(days=3)  # the mall confirms a refund within a few days


def seed_activities(
    cutoff: datetime, days: int, zone: ZoneInfo, progress: Callable[[int, int], None] | None = None
) -> int:
    """The year's activities up to the cutoff; how many were made (0 when the demo has flash
    sales already: it is built once)."""
    first = (cutoff - timedelta(days=days)).astimezone(zone).date()
    last = cutoff.astimezone(zone).date()
    with acting_as(ACTOR), unit_of_work() as session:
        if session.scalar(select(FlashSale.id).limit(1)) is not None:
            return 0
        orders = Orders(session, cutoff - timedelta(days=days + 1), cutoff)
        fridays = [d for d in _days(first, last) if d.weekday() == 4]
        months = sorted({(d.year, d.month) for d in _days(first, last)})
        total, done = len(fridays) + 2 * len(months), 0
        for friday in fridays:
            done += _weekly_flash(session, orders, friday, zone, cutoff)
        for year, month in months:
            done += _group_buy(session, orders, date(year, month, 14), zone, cutoff)
            done += _tiered(session, orders, date(year, month, 24), zone, cutoff)
            commit_progress(session, "demo activities")
            if progress:
                progress(done, total)
        group_buys.close_due(session, cutoff)
        tiered.close_due(session, cutoff)
        _confirm_refunds(session, cutoff)
        if progress:
            progress(total, total)
        return done


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _window(day: date, zone: ZoneInfo, length: timedelta) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(10), zone)
    return start, start + length


class Orders:
    """The generated orders of the year with their customer, oldest first: read once (one scan
    of the outbox), then taken window by window."""

    def __init__(self, session: Session, first: datetime, cutoff: datetime) -> None:
        rows = session.execute(
            select(OutboxEvent.customer_id, OutboxEvent.timestamp, OutboxEvent.properties)
            .where(
                OutboxEvent.event == "Order Completed",
                OutboxEvent.timestamp >= first,
                OutboxEvent.timestamp < cutoff,
                OutboxEvent.customer_id.is_not(None),
            )
            .order_by(OutboxEvent.timestamp, OutboxEvent.id)
        ).all()
        self.rows = rows
        self.times = [at for _, at, _ in rows]

    def taken(self, start: datetime, end: datetime, limit: int) -> list[dict]:
        """Up to `limit` orders of [start, end), each customer's first only (an activity takes a
        customer's place once)."""
        found: list[dict] = []
        customers: set[int] = set()
        for customer_id, at, text in self.rows[bisect_left(self.times, start) :]:
            if at >= end or len(found) == limit:
                break
            properties = orjson.loads(text)
            if customer_id is None or customer_id in customers or not properties.get("order_id"):
                continue
            customers.add(customer_id)
            fen = int(round(float(properties.get("revenue") or 0) * 100))
            found.append(
                {
                    "customer": customer_id,
                    "at": at,
                    "order": str(properties["order_id"]),
                    "fen": fen,
                }
            )
        return found


def _weekly_flash(
    session: Session, orders: Orders, friday: date, zone: ZoneInfo, cutoff: datetime
) -> int:
    start, end = _window(friday, zone, timedelta(hours=12))
    if start >= cutoff:
        return 0
    key = f"friday-{friday.isoformat()}"
    flash.create_sale(
        session, key, f"周五秒杀 {friday.month}/{friday.day}", "CUP-500", 9900, 50, 1,
        start, end, list_price_fen=19900, actor=ACTOR,
    )  # fmt: skip
    for order in orders.taken(start, end, FLASH_ORDERS):
        held_at = order["at"] - timedelta(minutes=2)
        if held_at < start:
            continue
        reservation = flash.reserve(session, key, order["customer"], 1, held_at)
        flash.confirm(session, key, reservation.id, str(order["order"]), order["at"])
    flash.lapse_due(session, cutoff)
    return 1


def _group_buy(
    session: Session, orders: Orders, day: date, zone: ZoneInfo, cutoff: datetime
) -> int:
    start, end = _window(day, zone, timedelta(days=3))
    if start >= cutoff:
        return 0
    key = f"group-{day:%Y-%m}"
    activity = group_buys.create_group_buy(
        session, key, f"{day.month} 月三人拼团", "TEA-SET", 7900, 3, GROUP_HOURS, start, end,
        robot_fill=day.month % 3 == 0, actor=ACTOR,
    )  # fmt: skip
    code, members = "", set()
    for order in orders.taken(start, end, GROUP_ORDERS):
        at, who, paid = order["at"], order["customer"], order["fen"] or activity.price_fen
        group_buys.close_due(session, at)
        try:
            if code and who not in members:
                group = group_buys.join_group(session, code, who, str(order["order"]), paid, at)
                members.add(who)
                code = code if group.status == "open" else ""
                continue
        except SiyuError:
            pass  # its time ran out: the customer opens the next one
        code, members = (
            group_buys.open_group(session, key, who, str(order["order"]), paid, at).code,
            {who},
        )
    group_buys.close_due(session, min(end + timedelta(hours=GROUP_HOURS), cutoff))
    return 1


def _tiered(session: Session, orders: Orders, day: date, zone: ZoneInfo, cutoff: datetime) -> int:
    start, end = _window(day, zone, timedelta(days=3))
    if start >= cutoff:
        return 0
    key = f"tiered-{day:%Y-%m}"
    tiered.create_tiered(
        session, key, f"{day.month} 月阶梯价电饭煲", "COOKER-3L", 39900,
        [(5, 36900), (10, 33900), (20, 29900)], start, end, actor=ACTOR,
    )  # fmt: skip
    for order in orders.taken(start, end, TIERED_ORDERS):
        tiered.join(session, key, order["customer"], str(order["order"]), order["at"])
    if end <= cutoff:
        tiered.close(session, key, end)  # at its end, as the close job would have
    return 1


def _confirm_refunds(session: Session, cutoff: datetime) -> None:
    """The mall confirmed the refunds made more than a few days before the cutoff."""
    after = 0
    while found := refunds.list_refunds(session, status="pending", after=after, limit=500):
        for refund in found:
            confirmed_at = refund.created_at + CONFIRMED_AFTER
            if confirmed_at < cutoff:
                refunds.confirm(session, refund.id, f"demo-{refund.id}", confirmed_at)
        after = found[-1].id
