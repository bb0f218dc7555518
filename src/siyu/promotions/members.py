"""Member tiers (会员等级, e.g. 普通 / 银卡 / 金卡): reached by spend or orders over a rolling
window, recomputed as orders arrive (an outbox subscriber) and every night (those whose orders
slid out of the window step down); reaching a tier issues its coupon once per reaching. A
member's card (tier, the next one and what is missing, points, benefits) for their H5 page."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core.db import utcnow
from siyu.core.errors import InvalidInput, NotFound, SiyuError
from siyu.core.i18n import N_
from siyu.orders import service as orders
from siyu.orders.models import Order
from siyu.promotions import activities, points
from siyu.promotions.coupon_templates import find_template
from siyu.promotions.coupons import issue
from siyu.promotions.member_models import (
    TIER_BASES,
    MemberSettings,
    Membership,
    MemberTier,
    TierChange,
)
from siyu.promotions.models import CouponTemplate

log = logging.getLogger("siyu.promotions")
ORDER_EVENTS = ("Order Completed", "Order Refunded")
MAX_LEAST = 10**12  # fen (ten billion yuan) or orders
STEP_DOWN_KIND = "promotions.member_tiers"


# --- settings and tiers -------------------------------------------------------------------------


def set_settings(
    session: Session, points_per_yuan: int, basis: str, window_days: int
) -> MemberSettings:
    activities.check_range(points_per_yuan, 0, 1000, "points_per_yuan")
    if basis not in TIER_BASES:
        raise InvalidInput(N_("tiers count spend or orders"), field="basis")
    activities.check_range(window_days, 1, 3650, "window_days")
    found = session.get(MemberSettings, 1) or MemberSettings(id=1)
    found.points_per_yuan, found.basis, found.window_days = points_per_yuan, basis, window_days
    session.add(found)
    session.flush()
    return found


def save_tier(
    session: Session,
    key: str,
    name: str,
    least: int,
    coupon_template: str | None = None,
    benefits: str = "",
) -> MemberTier:
    """Create the tier, or change the one with this key; `least` is fen or orders, by the
    settings' basis. Two tiers never share a threshold."""
    if not activities.KEY.match(key):
        raise InvalidInput(N_("a key is 1-64 lowercase letters, digits, '-' or '_'"), field="key")
    name, benefits = name.strip(), benefits.strip()
    if not name or len(name) > 64:
        raise InvalidInput(N_("a tier needs a name of at most 64 characters"), field="name")
    if len(benefits) > 500:
        raise InvalidInput(N_("benefits are at most 500 characters"), field="benefits")
    activities.check_range(least, 0, MAX_LEAST, "least")
    template_id = _template_id(session, coupon_template)
    tier = session.scalar(select(MemberTier).where(MemberTier.key == key))
    clash = session.scalar(select(MemberTier).where(MemberTier.least == least))
    if clash is not None and clash is not tier:
        raise InvalidInput(
            N_("the tier %(tier)s starts there already"), field="least", params={"tier": clash.key}
        )
    tier = tier or MemberTier(key=key)
    tier.name, tier.least, tier.coupon_template_id, tier.benefits = (
        name, least, template_id, benefits,
    )  # fmt: skip
    session.add(tier)
    session.flush()
    return tier


def _template_id(session: Session, key: str | None) -> int | None:
    if not key:
        return None
    try:
        return find_template(session, key).id
    except NotFound as error:
        error.field = "coupon_template"
        raise


def tiers(session: Session) -> list[MemberTier]:
    """The tiers from the lowest threshold up."""
    return list(session.scalars(select(MemberTier).order_by(MemberTier.least)))


def find_tier(session: Session, key: str) -> MemberTier:
    tier = session.scalar(select(MemberTier).where(MemberTier.key == key))
    if tier is None:
        raise NotFound(N_("no tier has the key %(key)s"), field="tier", params={"key": key})
    return tier


def tier_counts(session: Session) -> dict[int | None, int]:
    """Members per tier id (None: members below every tier)."""
    rows = session.execute(
        select(Membership.tier_id, func.count()).group_by(Membership.tier_id)
    ).all()
    return {tier_id: int(count) for tier_id, count in rows}


# --- recomputing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    spend_fen: int
    orders: int


def window_of(session: Session, customer_id: int, now: datetime, days: int) -> Window:
    """What the customer paid (net of refunds) and how many orders not wholly refunded, in the
    `days` before `now`."""
    since = now - timedelta(days=days)
    row = session.execute(
        select(
            func.coalesce(func.sum(Order.amount_fen - Order.refunded_fen), 0),
            func.count().filter(Order.status != "refunded"),
        ).where(Order.customer_id == customer_id, Order.paid_at > since, Order.paid_at <= now)
    ).one()
    return Window(int(row[0]), int(row[1]))


def tier_for(ladder: list[MemberTier], value: int) -> MemberTier | None:
    reached = [tier for tier in ladder if tier.least <= value]
    return reached[-1] if reached else None


def recompute(session: Session, customer_id: int, now: datetime | None = None) -> TierChange | None:
    """Count the customer's window and move them to the tier it reaches; the change (a `Tier
    Changed` event, and the new tier's coupon when they moved up), or None."""
    now = now or utcnow()
    rules, ladder = points.settings_of(session), tiers(session)
    window = window_of(session, customer_id, now, rules.window_days)
    value = window.spend_fen if rules.basis == "spend" else window.orders
    reached = tier_for(ladder, value)
    membership = _membership(session, customer_id)
    membership.spend_fen, membership.orders, membership.updated_at = (
        window.spend_fen, window.orders, now,
    )  # fmt: skip
    before = next((t for t in ladder if t.id == membership.tier_id), None)
    if reached is before:
        session.flush()
        return None
    membership.tier_id, membership.tier_since = (reached.id if reached else None), now
    change = TierChange(
        customer_id=customer_id,
        from_tier_id=before.id if before else None,
        to_tier_id=reached.id if reached else None,
        at=now,
    )
    session.add(change)
    session.flush()
    if reached is not None and (before is None or reached.least > before.least):
        change.coupon_code = _reward(session, reached, customer_id, change, now)
    _record_change(session, change, before, reached, value)
    return change


def _membership(session: Session, customer_id: int) -> Membership:
    found = session.get(Membership, customer_id)
    if found is None:
        found = Membership(customer_id=customer_id, points=0, spend_fen=0, orders=0)
        session.add(found)
        session.flush()
    return found


def _reward(
    session: Session, tier: MemberTier, customer_id: int, change: TierChange, now: datetime
) -> str | None:
    """The tier's coupon for this reaching; one the template cannot give (paused, over the
    customer's limit) is logged, and the move stands."""
    if tier.coupon_template_id is None:
        return None
    template = session.get_one(CouponTemplate, tier.coupon_template_id)
    try:
        with session.begin_nested():
            issued = issue(session, template.key, [customer_id], "tier", f"tier:{change.id}", now)
    except SiyuError as error:
        log.info("tier %s coupon not issued to %s: %s", tier.key, customer_id, error.message)
        return None
    return issued.coupons[0].code if issued.coupons else None


def _record_change(
    session: Session,
    change: TierChange,
    before: MemberTier | None,
    after: MemberTier | None,
    value: int,
) -> None:
    properties = {
        "from_tier": before.key if before else None,
        "to_tier": after.key if after else None,
        "tier_name": after.name if after else None,
        "direction": "up" if after and (before is None or after.least > before.least) else "down",
        "window_value": value,
        "coupon_id": change.coupon_code,
    }
    happened = activities.Happened(
        f"tier-changed-{change.id}", change.customer_id, properties, change.at
    )
    activities.record(session, "Tier Changed", change.at, [happened])


# --- orders and the nightly pass ----------------------------------------------------------------


def apply_order_events(session: Session, rows: list[dict[str, Any]]) -> None:
    """An outbox subscriber (after the orders table is kept): a paid order earns its points, a
    refund reverses their share, and either recomputes the customer's tier. Nothing runs
    while the brand has neither tiers nor points."""
    mine = [r for r in rows if r["type"] == "track" and r["event"] in ORDER_EVENTS]
    if not mine or not _in_use(session):
        return
    named = [
        (row, str(orjson.loads(row["properties"]).get("order_id") or "").strip()) for row in mine
    ]
    known = orders.load_orders(session, {order_id for _, order_id in named})  # one query
    for row, order_id in named:
        order = known.get(order_id)
        if order is None:
            continue
        at = row["timestamp"]
        if row["event"] == "Order Completed":
            points.earn_for_order(session, order, at)
        else:
            points.reverse_for_refund(session, order, row["message_id"], at)
        recompute(session, order.customer_id, max(at, utcnow()))  # the window ends now


def _order_id(row: dict[str, Any]) -> str:
    return str(orjson.loads(row["properties"]).get("order_id") or "").strip()


def _in_use(session: Session) -> bool:
    return (
        session.scalar(select(MemberTier.id).limit(1)) is not None
        or points.settings_of(session).points_per_yuan > 0
    )


def step_down_due(session: Session, now: datetime | None = None) -> int:
    """Recompute every member in a tier that takes more than nothing: whose orders slid out
    of the window step down. How many changed."""
    now = now or utcnow()
    above = session.scalars(
        select(Membership.customer_id)
        .join(MemberTier, MemberTier.id == Membership.tier_id)
        .where(MemberTier.least > 0)
    ).all()
    return sum(recompute(session, customer, now) is not None for customer in above)


def step_down_job(session: Session, payload: dict) -> None:
    """Job `promotions.member_tiers` (daily): members whose spend or orders slid out of the
    rolling window step down to the tier what is left reaches."""
    step_down_due(session)


# --- the member's card --------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberCard:
    """What a member's H5 page shows: their tier, the next one and what is missing to reach it
    (fen or orders, by `basis`), their points and their benefits."""

    customer_id: int
    tier: str | None
    tier_key: str | None
    basis: str
    spend_fen: int
    orders: int
    next_tier: str | None
    missing: int | None
    points: int
    benefits: list[str] = field(default_factory=list)
    rewards: list[tuple[str, str, int]] = field(default_factory=list)


def member_card(session: Session, customer_id: int) -> MemberCard:
    rules, ladder = points.settings_of(session), tiers(session)
    membership = session.get(Membership, customer_id)
    if membership is not None:
        session.refresh(membership)  # points move by statements, not through the session
    spend = membership.spend_fen if membership else 0
    count = membership.orders if membership else 0
    value = spend if rules.basis == "spend" else count
    tier = next((t for t in ladder if membership and t.id == membership.tier_id), None)
    following = next((t for t in ladder if t.least > value), None)
    return MemberCard(
        customer_id=customer_id,
        tier=tier.name if tier else None,
        tier_key=tier.key if tier else None,
        basis=rules.basis,
        spend_fen=spend,
        orders=count,
        next_tier=following.name if following else None,
        missing=following.least - value if following else None,
        points=membership.points if membership else 0,
        benefits=_benefits(session, tier),
        rewards=points.rewards(session),
    )


def _benefits(session: Session, tier: MemberTier | None) -> list[str]:
    if tier is None:
        return []
    found = [line.strip() for line in tier.benefits.splitlines() if line.strip()]
    if tier.coupon_template_id is not None:
        found.append(session.get_one(CouponTemplate, tier.coupon_template_id).name)
    return found
