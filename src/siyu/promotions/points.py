"""Member points (积分): earned per yuan an order paid (rounded down), reversed in proportion
when it is refunded, spent on coupon templates at their points price, adjusted by hand with a
reason. Every movement is a ledger row with the balance after it; `check` finds customers whose
balance is not the sum of their rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from siyu.core.db import insert_for, table_of, utcnow
from siyu.core.errors import Conflict, InvalidInput, NotFound
from siyu.core.i18n import N_
from siyu.orders.models import Order
from siyu.promotions import activities
from siyu.promotions.coupon_templates import find_template
from siyu.promotions.coupons import issue
from siyu.promotions.member_models import MemberSettings, Membership, PointsEntry, PointsReward
from siyu.promotions.models import CouponTemplate

MAX_POINTS = 100_000_000
EVENTS = {
    "earn": "Points Earned",
    "reverse": "Points Reversed",
    "spend": "Points Spent",
    "adjust": "Points Adjusted",
}


def settings_of(session: Session) -> MemberSettings:
    """The brand's member rules (defaults until someone sets them: no points, spend over 365
    days)."""
    found = session.get(MemberSettings, 1)
    return found or MemberSettings(id=1, points_per_yuan=0, basis="spend", window_days=365)


def balance(session: Session, customer_id: int) -> int:
    points = session.scalar(select(Membership.points).where(Membership.customer_id == customer_id))
    return points or 0


def move(
    session: Session,
    customer_id: int,
    delta: int,
    kind: str,
    *,
    key: str | None = None,
    order_id: str | None = None,
    reason: str = "",
    at: datetime | None = None,
) -> PointsEntry | None:
    """Change the balance by `delta` in one conditional statement (never below zero) and write
    the ledger row with the balance after it, and its event; None when `key` was moved before.
    A spend the balance cannot cover is a 409 naming `points`."""
    if key is not None and session.scalar(select(PointsEntry.id).where(PointsEntry.key == key)):
        return None
    after = _add(session, customer_id, delta)
    if after is None:
        raise Conflict(
            N_("not enough points: %(have)s, %(wanted)s needed"),
            code="not_enough_points",
            field="points",
            params={"have": balance(session, customer_id), "wanted": -delta},
        )
    at = at or utcnow()
    entry = PointsEntry(
        customer_id=customer_id,
        kind=kind,
        delta=delta,
        balance=after,
        key=key,
        order_id=order_id,
        reason=reason[:200],
        at=at,
    )
    session.add(entry)
    session.flush()
    properties = {"points": delta, "balance": after, "order_id": order_id, "reason": reason}
    happened = activities.Happened(f"points-{entry.id}", customer_id, properties, at)
    activities.record(session, EVENTS[kind], at, [happened])
    return entry


def _add(session: Session, customer_id: int, delta: int) -> int | None:
    """The balance after adding `delta`, or None when it would go below zero."""
    table = table_of(Membership)
    if delta >= 0:
        statement = (
            insert_for(session, table)
            .values(
                customer_id=customer_id, points=delta, spend_fen=0, orders=0, updated_at=utcnow()
            )
            .on_conflict_do_update(
                index_elements=[table.c.customer_id], set_={"points": table.c.points + delta}
            )
            .returning(table.c.points)
        )
        return session.execute(statement).scalar_one()
    taken = session.execute(
        update(table)
        .where(table.c.customer_id == customer_id, table.c.points + delta >= 0)
        .values(points=table.c.points + delta)
        .returning(table.c.points)
    )
    return taken.scalar_one_or_none()


# --- orders -------------------------------------------------------------------------------------


def earn_for_order(session: Session, order: Order, at: datetime) -> PointsEntry | None:
    """The points a paid order earns, once per order."""
    per_yuan = settings_of(session).points_per_yuan
    earned = order.amount_fen * per_yuan // 100
    if earned <= 0:
        return None
    return move(
        session, order.customer_id, earned, "earn", key=f"earn:{order.order_id}",
        order_id=order.order_id, at=at,
    )  # fmt: skip


def reverse_for_refund(
    session: Session, order: Order, message_id: str, at: datetime
) -> PointsEntry | None:
    """Take back the share of the order's points that its refunds (so far, in all) make up,
    less what earlier refunds took back, never more than the customer has left; once per
    refund event."""
    rows = session.execute(
        select(PointsEntry.kind, func.sum(PointsEntry.delta))
        .where(PointsEntry.order_id == order.order_id, PointsEntry.kind.in_(("earn", "reverse")))
        .group_by(PointsEntry.kind)
    ).all()
    sums = {kind: int(total) for kind, total in rows}
    earned, reversed_ = sums.get("earn", 0), -sums.get("reverse", 0)
    if earned <= 0 or order.amount_fen <= 0:
        return None
    refunded = min(order.refunded_fen, order.amount_fen)
    due = earned * refunded // order.amount_fen - reversed_
    due = min(due, balance(session, order.customer_id))
    if due <= 0:
        return None
    return move(
        session, order.customer_id, -due, "reverse", key=f"reverse:{order.order_id}:{message_id}",
        order_id=order.order_id, at=at,
    )  # fmt: skip


# --- spending -----------------------------------------------------------------------------------


def set_reward(session: Session, template_key: str, points: int) -> PointsReward:
    """Let customers buy the template's coupons at `points` (0 takes the offer away)."""
    template = find_template(session, template_key)
    activities.check_range(points, 0, MAX_POINTS, "points")
    reward = session.get(PointsReward, template.id)
    if points == 0:
        if reward is not None:
            session.delete(reward)
            session.flush()
        return PointsReward(template_id=template.id, points=0)
    if reward is None:
        reward = PointsReward(template_id=template.id, points=points)
        session.add(reward)
    reward.points = points
    session.flush()
    return reward


def rewards(session: Session) -> list[tuple[str, str, int]]:
    """(template key, name, points) of every coupon points buy, cheapest first."""
    rows = session.execute(
        select(CouponTemplate.key, CouponTemplate.name, PointsReward.points)
        .join(PointsReward, PointsReward.template_id == CouponTemplate.id)
        .order_by(PointsReward.points, CouponTemplate.key)
    ).all()
    return [(k, n, int(p)) for k, n, p in rows]


@dataclass(frozen=True)
class Spent:
    entry: PointsEntry
    coupon_code: str


def spend(session: Session, customer_id: int, template_key: str) -> Spent:
    """Buy one coupon of the template with points: the balance goes down by its points price
    (a 409 naming `points` when it cannot) and the coupon is issued; nothing changes when the
    coupon cannot be (over the customer's limit, out of stock: a 409 naming `coupon_template`)."""
    try:
        template = find_template(session, template_key)
    except NotFound as error:
        error.field = "coupon_template"
        raise
    reward = session.get(PointsReward, template.id)
    if reward is None:
        raise Conflict(
            N_("this coupon cannot be bought with points"),
            code="not_a_reward",
            field="coupon_template",
        )
    entry = move(session, customer_id, -reward.points, "spend", reason=template.key)
    assert entry is not None  # no key: never a replay
    issued = issue(session, template.key, [customer_id], via="points", via_ref=f"points:{entry.id}")
    if not issued.coupons:
        reason = next(iter(issued.skipped), "limit")
        raise Conflict(
            N_("the coupon cannot be issued to this customer (%(reason)s)"),
            code="not_issued",
            field="coupon_template",
            params={"reason": reason},
        )
    return Spent(entry, issued.coupons[0].code)


def adjust(session: Session, customer_id: int, delta: int, reason: str) -> PointsEntry:
    """Add (or take away) points by hand; the reason is kept on the ledger row."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput(N_("say why the points change"), field="reason")
    if delta == 0:
        raise InvalidInput(N_("give a number of points other than 0"), field="points")
    activities.check_range(abs(delta), 1, MAX_POINTS, "points")
    entry = move(session, customer_id, delta, "adjust", reason=reason)
    assert entry is not None
    return entry


# --- the ledger ---------------------------------------------------------------------------------


def ledger(session: Session, customer_id: int, limit: int = 20) -> list[PointsEntry]:
    return list(
        session.scalars(
            select(PointsEntry)
            .where(PointsEntry.customer_id == customer_id)
            .order_by(PointsEntry.id.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class Imbalance:
    customer_id: int
    balance: int
    ledger_sum: int
    last_balance: int | None


def check(session: Session) -> list[Imbalance]:
    """Customers whose balance is not the sum of their ledger rows, or not the balance after
    their last row."""
    sums = (
        select(
            PointsEntry.customer_id,
            func.sum(PointsEntry.delta).label("total"),
            func.max(PointsEntry.id).label("last"),
        )
        .group_by(PointsEntry.customer_id)
        .subquery()
    )
    rows = session.execute(
        select(Membership.customer_id, Membership.points, sums.c.total, PointsEntry.balance)
        .outerjoin(sums, sums.c.customer_id == Membership.customer_id)
        .outerjoin(PointsEntry, PointsEntry.id == sums.c.last)
    ).all()
    return [
        Imbalance(customer, int(points), int(total or 0), last)
        for customer, points, total, last in rows
        if points != (total or 0) or (last is not None and last != points)
    ]
