"""The demo brand's coupons (券), issued and redeemed through the promotions service at their
times: the newcomer, referral and member-day coupons of every week, and the festival 满减 of the
year's big activities (618, 双11, 双12).

The generated orders name the coupon they used by the brand's name for it (`NEW5`); here each
such order's customer is issued a real coupon of that template a few days before the order and
redeems it with the order, as the mall's checkout would have (every festival order, and the
newest weekly ones up to MAX_ORDERS in all). Festival coupons also go to
members who never used theirs, so redemption rates are not all 100 %, and those past their end
expire. Everything goes through promotions.service, so the events (`Coupon Issued`, `Coupon
Redeemed`, `Coupon Expired`) reach the lake as they would live.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from datetime import datetime, timedelta
from decimal import Decimal
from random import Random

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.audit import acting_as
from siyu.core.db import commit_progress, unit_of_work
from siyu.demo.basket import FESTIVAL_COUPONS, MEMBER_DAY, NEWCOMER, REFERRED, Coupon
from siyu.events.models import OutboxEvent
from siyu.promotions import service as promotions
from siyu.promotions.models import CouponTemplate

ACTOR = "cli:demo"
VALID_DAYS = 14
# How many more festival coupons go out than are used: members who got one and let it lapse.
UNUSED_PER_USED = 1.5
PER_CUSTOMER = {NEWCOMER.coupon_id: 1, REFERRED.coupon_id: 1}  # the rest: many
# Orders redeemed through the service (a few milliseconds each): every festival order, then the
# newest of the weekly ones, so `make demo` stays quick; older weekly orders keep the brand's
# own coupon name only.
MAX_ORDERS = 4000


def key_of(coupon: Coupon) -> str:
    return coupon.coupon_id.lower()


def seed_coupons(
    cutoff: datetime, seed: int = 7, progress: Callable[[int, int], None] | None = None
) -> int:
    """Issue and redeem the demo's coupons up to the cutoff; how many orders redeemed one (0
    when the templates exist already: the demo is built once)."""
    with acting_as(ACTOR), unit_of_work() as session:
        if session.scalar(select(CouponTemplate.id).limit(1)) is not None:
            return 0
        used = _chosen(_orders_with_coupons(session))
        templates = {
            key_of(c): _template(session, c, [o for o in used if o["coupon"] == c.coupon_id])
            for c in (NEWCOMER, REFERRED, MEMBER_DAY, *FESTIVAL_COUPONS.values())
        }
        rng = Random(seed)
        for done, order in enumerate(used, 1):
            _issue_and_redeem(session, order, templates[str(order["coupon"]).lower()], rng)
            if done % 500 == 0:
                commit_progress(session, "demo coupons redeemed")
                if progress:
                    progress(done, len(used))
        _unused_festival_coupons(session, used, rng)
        promotions.expire_due(session, cutoff)
        if progress:
            progress(len(used), len(used))
        return len(used)


def _template(session: Session, coupon: Coupon, orders: list[dict]) -> CouponTemplate:
    """The coupon's template: a festival's holds from a week before its first order to the
    day after its last (the activity's window, for the calendar); the weekly ones always."""
    kind = "threshold" if coupon.threshold else "amount"
    valid_from = valid_until = None
    if coupon in FESTIVAL_COUPONS.values() and orders:
        valid_from = min(o["at"] for o in orders) - timedelta(days=7)
        valid_until = max(o["at"] for o in orders) + timedelta(days=1)
    return promotions.create_template(
        session,
        key_of(coupon),
        coupon.name,
        kind,
        amount_fen=_fen(coupon.discount),
        threshold_fen=_fen(coupon.threshold),
        valid_days=VALID_DAYS,
        per_customer=PER_CUSTOMER.get(coupon.coupon_id, 100),
        actor=ACTOR,
        valid_from=valid_from,
        valid_until=valid_until,
    )


def _fen(amount: Decimal) -> int:
    return int(amount * 100)


def _orders_with_coupons(session: Session) -> list[dict]:
    """The generated orders that used a coupon, oldest first (from the outbox, which keeps the
    demo's events until the prune job's retention)."""
    rows = session.execute(
        select(OutboxEvent.customer_id, OutboxEvent.timestamp, OutboxEvent.properties)
        .where(OutboxEvent.event == "Order Completed", OutboxEvent.properties.contains('"coupon"'))
        .order_by(OutboxEvent.timestamp, OutboxEvent.id)
    ).all()
    found = []
    for customer_id, at, text in rows:
        properties = orjson.loads(text)
        if customer_id and properties.get("coupon"):
            found.append({"customer_id": customer_id, "at": at, **properties})
    return found


def _chosen(orders: list[dict]) -> list[dict]:
    """Every festival order, then the newest others, up to MAX_ORDERS; oldest first."""
    festival = {c.coupon_id for c in FESTIVAL_COUPONS.values()}
    big = [o for o in orders if o["coupon"] in festival]
    weekly = [o for o in orders if o["coupon"] not in festival]
    kept = big[:MAX_ORDERS] + weekly[max(0, len(weekly) - (MAX_ORDERS - len(big))) :]
    return sorted(kept[:MAX_ORDERS], key=lambda o: o["at"])


def _issue_and_redeem(session: Session, order: dict, template: CouponTemplate, rng: Random) -> None:
    issued_at = order["at"] - timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 12))
    coupon = next(iter(_held(session, template, order["customer_id"], issued_at)), None)
    if coupon is None:
        return
    amount = _fen(Decimal(str(order["revenue"]))) + template.amount_fen
    with suppress(promotions.Unprocessable):  # never for the generated orders: kept unused
        promotions.redeem(
            session,
            coupon,
            str(order["order_id"]),
            amount,
            store=order.get("store"),
            customer_id=order["customer_id"],
            now=order["at"],
        )


def _held(session: Session, template: CouponTemplate, customer_id: int, at: datetime) -> list[str]:
    """An issued coupon of the template the customer may use at `at`: one issued now, or one
    issued before that is still unused (a returned one, or the limit reached)."""
    key = template.key
    done = promotions.issue(
        session, key, [customer_id], "claim" if key == "member3" else "list", None, at
    )
    if done.coupons:
        return [done.coupons[0].code]
    return [
        c.code
        for c, _ in promotions.customer_coupons(session, customer_id, usable_only=True)
        if c.template_id == template.id
    ]


def _unused_festival_coupons(session: Session, used: list[dict], rng: Random) -> None:
    """Each festival's coupon also went to members who did not use it, at the festival's start."""
    for coupon in FESTIVAL_COUPONS.values():
        key = key_of(coupon)
        orders = [o for o in used if str(o["coupon"]).lower() == key]
        if not orders:
            continue
        users = {o["customer_id"] for o in orders}
        others = sorted({o["customer_id"] for o in used} - users)
        chosen = rng.sample(others, min(len(others), int(len(orders) * UNUSED_PER_USED)))
        start = min(o["at"] for o in orders) - timedelta(days=3)
        promotions.issue(session, key, chosen, "segment", "festival", start)
