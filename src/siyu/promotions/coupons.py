"""Coupons (券): templates, coupons issued under unguessable codes, redemption at the mall's
checkout, return on refund, expiry and the reminder before it.

Limits hold under any concurrency: a customer's count and a template's stock are each raised by
one conditional statement, so two requests never both take the last coupon. Redeeming is one
conditional update too: a coupon goes from issued to redeemed once, for one order."""

from __future__ import annotations

import logging
import re
import secrets
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from siyu.core.db import insert_for, rowcount, table_of, utcnow
from siyu.core.errors import Conflict, InvalidInput, NotFound, SiyuError
from siyu.core.i18n import N_
from siyu.customers import service as customers
from siyu.orders.models import Order
from siyu.promotions.activities import Happened, record
from siyu.promotions.coupon_templates import find_template
from siyu.promotions.models import (
    ISSUE_VIAS,
    Coupon,
    CouponHolding,
    CouponTemplate,
)
from siyu.segments import service as segments

log = logging.getLogger("siyu.promotions")
# Codes a person can read out at a till: no 0/O or 1/I/L. Twelve of 31 characters: 2^59 codes,
# so one cannot be guessed among the issued ones.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12
CODE_CHARACTERS = frozenset(ALPHABET)
CHUNK = 500
REMIND_DAYS = 3  # `Coupon Expiring` this many days before a coupon expires


class Unprocessable(SiyuError):
    """The request is well formed but the rules say no (over a limit, under a threshold)."""

    status = 422
    code = "unprocessable"


@dataclass
class Issued:
    """What an issue did: the coupons made, and how many customers were passed over, why."""

    coupons: list[Coupon] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class Redemption:
    coupon: Coupon
    template: CouponTemplate
    replayed: bool = False  # the same order redeemed it before: nothing changed


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normal_code(code: str) -> str:
    """A code as typed: case, spaces and dashes do not matter."""
    return re.sub(r"[\s-]", "", code).upper()


# --- issuing ------------------------------------------------------------------------------------


def issue(
    session: Session,
    key: str,
    customer_ids: Iterable[int],
    via: str = "manual",
    via_ref: str | None = None,
    now: datetime | None = None,
    *,
    claim: bool = False,
) -> Issued:
    """One coupon of the template to each customer, within the stock and each one's limit;
    the rest are counted in `skipped` by reason (`limit`, `out_of_stock`). A customer named
    twice gets one. `claim`: the customer asked for it on a page (the template must allow it)."""
    if via not in ISSUE_VIAS:
        raise InvalidInput(N_("unknown way of issuing a coupon"), field="via")
    now = now or utcnow()
    template = find_template(session, key)
    if template.status != "active":
        raise Conflict(N_("this coupon template is paused or ended"), field="key")
    if template.valid_until is not None and template.valid_until <= now:
        raise Conflict(N_("this coupon template's coupons have expired"), field="key")
    if claim and not template.claimable:
        raise Conflict(N_("this coupon cannot be claimed on a page"), field="key")
    result = Issued()
    wanted = list(dict.fromkeys(customer_ids))
    for start in range(0, len(wanted), CHUNK):
        _issue_chunk(session, template, wanted[start : start + CHUNK], via, via_ref, now, result)
    return result


def _issue_chunk(
    session: Session,
    template: CouponTemplate,
    customers: list[int],
    via: str,
    via_ref: str | None,
    now: datetime,
    result: Issued,
) -> None:
    within = _raise_holdings(session, template, customers)
    if len(within) < len(customers):
        result.skipped["limit"] += len(customers) - len(within)
    granted = _take_stock(session, template, len(within))
    if granted < len(within):
        result.skipped["out_of_stock"] += len(within) - granted
        _lower_holdings(session, template.id, within[granted:])
        within = within[:granted]
    if not within:
        return
    starts, expires = _validity(template, now)
    coupons = [
        Coupon(
            template_id=template.id,
            code=new_code(),
            customer_id=customer,
            via=via,
            via_ref=via_ref,
            issued_at=now,
            starts_at=starts,
            expires_at=expires,
        )
        for customer in within
    ]
    session.add_all(coupons)
    session.flush()
    _record(session, "Coupon Issued", template, coupons, now, {"via": via, "via_ref": via_ref})
    result.coupons.extend(coupons)


def _validity(template: CouponTemplate, now: datetime) -> tuple[datetime | None, datetime | None]:
    expires = template.valid_until
    if template.valid_days is not None:
        by_days = now + timedelta(days=template.valid_days)
        expires = min(expires, by_days) if expires else by_days
    return template.valid_from, expires


def _raise_holdings(session: Session, template: CouponTemplate, customers: list[int]) -> list[int]:
    """Add one to each customer's count where it stays within the limit, in one statement;
    the customers whose count was raised, in the order given."""
    table = table_of(CouponHolding)
    insert = insert_for(session, table).values(
        [{"template_id": template.id, "customer_id": c, "count": 1} for c in customers]
    )
    statement = insert.on_conflict_do_update(
        index_elements=[table.c.template_id, table.c.customer_id],
        set_={"count": table.c.count + 1},
        where=table.c.count + 1 <= template.per_customer,
    ).returning(table.c.customer_id)
    raised = set(session.execute(statement).scalars())
    return [c for c in customers if c in raised]


def _lower_holdings(session: Session, template_id: int, customers: list[int]) -> None:
    session.execute(
        update(CouponHolding)
        .where(CouponHolding.template_id == template_id, CouponHolding.customer_id.in_(customers))
        .values(count=CouponHolding.count - 1)
    )


def _take_stock(session: Session, template: CouponTemplate, wanted: int) -> int:
    """Take up to `wanted` from the template's stock by conditional updates; how many were had
    (fewer when the stock runs out, however many other requests take from it meanwhile)."""
    table = table_of(CouponTemplate)
    while wanted > 0:
        taken = session.execute(
            update(table)
            .where(
                table.c.id == template.id,
                or_(table.c.stock.is_(None), table.c.issued + wanted <= table.c.stock),
            )
            .values(issued=table.c.issued + wanted)
        )
        if rowcount(taken):
            session.expire(template, ["issued"])
            return wanted
        stock, issued = session.execute(
            select(table.c.stock, table.c.issued).where(table.c.id == template.id)
        ).one()
        wanted = min(wanted, (stock or 0) - issued)
    return 0


def customer_coupons(session: Session, customer_id: int, usable_only: bool = False) -> list[Any]:
    """A customer's coupons with their templates, newest first."""
    query = (
        select(Coupon, CouponTemplate)
        .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
        .where(Coupon.customer_id == customer_id)
        .order_by(Coupon.id.desc())
    )
    if usable_only:
        query = query.where(Coupon.status == "issued", CouponTemplate.status != "ended")
    return list(session.execute(query.limit(500)).all())


def find_coupon(session: Session, code: str) -> Coupon:
    coupon = session.scalar(select(Coupon).where(Coupon.code == normal_code(code)))
    if coupon is None:
        raise NotFound(N_("no coupon has this code"), field="code")
    return coupon


# --- redeeming ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One line of the order being paid: its SKU, category and price (fen)."""

    sku: str
    category: str | None = None
    price_fen: int | None = None
    quantity: int = 1


def redeem(
    session: Session,
    code: str,
    order_id: str,
    amount_fen: int,
    *,
    store: str | None = None,
    items: Sequence[Item] = (),
    customer_id: int | None = None,
    now: datetime | None = None,
) -> Redemption:
    """Use the coupon on this order. The same order again answers the same; another order is
    refused (409); a rule the order breaks is a 422 naming the field."""
    now = now or utcnow()
    order_id = order_id.strip()
    if not order_id:
        raise InvalidInput(N_("an order id is required"), field="order_id")
    coupon = find_coupon(session, code)
    template = session.get_one(CouponTemplate, coupon.template_id)
    if coupon.status == "redeemed":
        return _redeemed_before(coupon, template, order_id)
    if customer_id is not None and customer_id != coupon.customer_id:
        raise Conflict(N_("this coupon belongs to another customer"), field="customer")
    _check_usable(coupon, template, now)
    discount = _discount(template, amount_fen, store, items)
    _check_stacking(session, coupon, template, order_id)
    done = session.execute(
        update(Coupon)
        .where(Coupon.id == coupon.id, Coupon.status == "issued")
        .values(status="redeemed", order_id=order_id, discount_fen=discount, redeemed_at=now)
        .execution_options(synchronize_session=False)
    )
    if not rowcount(done):  # another request redeemed it first
        session.refresh(coupon)
        return _redeemed_before(coupon, template, order_id)
    for name, value in (
        ("status", "redeemed"),
        ("order_id", order_id),
        ("discount_fen", discount),
        ("redeemed_at", now),
    ):
        set_committed_value(coupon, name, value)  # as the update wrote them: no read back
    _record(
        session,
        "Coupon Redeemed",
        template,
        [coupon],
        now,
        {"order_id": order_id, "discount": discount / 100, "revenue": amount_fen / 100},
        suffix=order_id,
    )
    return Redemption(coupon, template)


def _redeemed_before(coupon: Coupon, template: CouponTemplate, order_id: str) -> Redemption:
    if coupon.order_id == order_id:
        return Redemption(coupon, template, replayed=True)
    raise Conflict(
        N_("this coupon was redeemed by another order"), field="code", code="already_redeemed"
    )


def _check_usable(coupon: Coupon, template: CouponTemplate, now: datetime) -> None:
    if coupon.status == "expired" or (coupon.expires_at and coupon.expires_at <= now):
        raise Conflict(N_("this coupon has expired"), field="code", code="expired")
    if coupon.status != "issued":
        raise Conflict(N_("this coupon can no longer be used"), field="code", code="void")
    if template.status == "ended":
        raise Conflict(N_("this coupon's promotion has ended"), field="code", code="ended")
    if coupon.starts_at and coupon.starts_at > now:
        raise Conflict(N_("this coupon cannot be used yet"), field="code", code="not_yet")


def _discount(
    template: CouponTemplate, amount_fen: int, store: str | None, items: Sequence[Item]
) -> int:
    """What the coupon takes off this order (fen), or a 422 naming the rule it breaks."""
    if template.stores and (store or "") not in template.stores:
        raise Unprocessable(N_("this coupon is not valid in this store"), field="store")
    eligible = amount_fen
    if template.products or template.categories:
        lines = [
            i
            for i in items
            if i.sku in template.products or (i.category or "") in template.categories
        ]
        if not lines:
            raise Unprocessable(
                N_("no item of the order is one this coupon is for"), field="products"
            )
        priced = [i for i in lines if i.price_fen is not None]
        if priced:
            eligible = min(amount_fen, sum((i.price_fen or 0) * i.quantity for i in priced))
    if template.threshold_fen and eligible < template.threshold_fen:
        raise Unprocessable(
            N_("the order is under this coupon's threshold"), field="amount", code="under_threshold"
        )
    if template.kind in ("amount", "threshold"):
        return min(template.amount_fen, eligible)
    if template.kind == "percent":
        off = eligible * template.percent // 100
        return min(off, template.cap_fen) if template.cap_fen else off
    free = [i for i in items if i.sku == template.free_item]
    if not free:
        raise Unprocessable(N_("the free item is not in the order"), field="products")
    return min(free[0].price_fen or 0, amount_fen)


def _check_stacking(
    session: Session, coupon: Coupon, template: CouponTemplate, order_id: str
) -> None:
    others = session.execute(
        select(CouponTemplate.stacks)
        .join(Coupon, Coupon.template_id == CouponTemplate.id)
        .where(Coupon.order_id == order_id, Coupon.status == "redeemed", Coupon.id != coupon.id)
    ).all()
    if others and (not template.stacks or not all(stacks for (stacks,) in others)):
        raise Conflict(
            N_("the order already has a coupon this one does not stack with"),
            field="code",
            code="does_not_stack",
        )


def return_for_refund(
    session: Session, order_id: str, now: datetime | None = None, *, whole_only: bool = False
) -> list[Coupon]:
    """The refunded order's coupons whose template returns them go back to their holders;
    `whole_only`: only once the orders table has the whole order refunded (one query: an order
    with no coupon costs nothing more)."""
    now = now or utcnow()
    query = (
        select(Coupon, CouponTemplate)
        .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
        .where(Coupon.order_id == order_id, Coupon.status == "redeemed")
    )
    if whole_only:
        query = query.join(Order, Order.order_id == Coupon.order_id).where(
            Order.refunded_fen >= Order.amount_fen
        )
    found = session.execute(query).all()
    returned = []
    for coupon, template in found:
        if not template.returnable:
            continue
        coupon.status, coupon.returned_at = "issued", now
        _record(
            session,
            "Coupon Returned",
            template,
            [coupon],
            now,
            {"order_id": order_id},
            suffix=order_id,
        )
        coupon.order_id, coupon.discount_fen, coupon.redeemed_at = None, 0, None
        returned.append(coupon)
    session.flush()
    return returned


# --- expiry -------------------------------------------------------------------------------------


def expire_due(session: Session, now: datetime | None = None, limit: int = 5000) -> int:
    """Issued coupons past their end become expired, each with a `Coupon Expired`."""
    now = now or utcnow()
    due = session.execute(
        select(Coupon, CouponTemplate)
        .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
        .where(Coupon.status == "issued", Coupon.expires_at <= now)
        .order_by(Coupon.expires_at)
        .limit(limit)
    ).all()
    for coupon, template in due:
        coupon.status = "expired"
        _record(session, "Coupon Expired", template, [coupon], coupon.expires_at or now, {})
    session.flush()
    return len(due)


def remind_due(
    session: Session, now: datetime | None = None, days: int = REMIND_DAYS, limit: int = 5000
) -> int:
    """A `Coupon Expiring` once for each issued coupon that ends within `days`: a journey
    entered on it (the reach part) tells the customer."""
    now = now or utcnow()
    due = session.execute(
        select(Coupon, CouponTemplate)
        .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
        .where(
            Coupon.status == "issued",
            Coupon.reminded_at.is_(None),
            and_(Coupon.expires_at > now, Coupon.expires_at <= now + timedelta(days=days)),
        )
        .limit(limit)
    ).all()
    for coupon, template in due:
        coupon.reminded_at = now
        _record(
            session,
            "Coupon Expiring",
            template,
            [coupon],
            now,
            {"expires_at": coupon.expires_at.isoformat() if coupon.expires_at else None},
        )
    session.flush()
    return len(due)


# --- events -------------------------------------------------------------------------------------


def _record(
    session: Session,
    event: str,
    template: CouponTemplate,
    coupons: list[Coupon],
    at: datetime,
    extra: dict[str, Any],
    suffix: str = "",
) -> None:
    prefix = event.lower().replace(" ", "-")
    base = {
        "coupon_template": template.key,
        "coupon_name": template.name,
        "kind": template.kind,
        "value": template.amount_fen / 100 if template.amount_fen else None,
        "percent": template.percent or None,
        **extra,
    }
    happened = [
        Happened(
            f"{prefix}-{coupon.code}" + (f"-{suffix}" if suffix else ""),
            coupon.customer_id,
            {**base, "coupon_id": coupon.code},
        )
        for coupon in coupons
    ]
    record(session, event, at, happened)


def audience(
    session: Session, segment: str | None = None, refs: Sequence[str] = ()
) -> tuple[list[int], list[str]]:
    """Whom an issue names: a saved segment's members, or else a list's references (customer
    ids, phones, any identity) as customer ids, with the references that named no one."""
    if segment is not None:
        try:
            found = segments.find_segment(session, segment)
        except SiyuError as error:  # find_segment names its own argument
            error.field = "segment"
            raise
        return segments.member_ids(session, found), []
    by_ref = customers.customers_by_ref(session, refs)
    return list(dict.fromkeys(by_ref.values())), [r for r in refs if r not in by_ref]
