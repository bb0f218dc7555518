"""What the promotions' activities share (flash sales, group buys, tiered prices; coupon
templates the key): an activity's key, name, product and window checked and named when wrong,
the payer the mall names (a customer, an order, an amount), and the events written under the
promotions source."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.core.db import utcnow
from siyu.core.errors import Conflict, InvalidInput, SiyuError
from siyu.core.i18n import N_
from siyu.customers import service as customers
from siyu.customers.models import Customer
from siyu.events import service as events
from siyu.events.sources import internal_source

SOURCE = "promotions"
KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MAX_FEN = 1_000_000_000  # ten million yuan: the price columns are 32-bit
MAX_ORDER_ID = 128


class Described(NamedTuple):
    name: str
    product: str


def check_activity(
    session: Session,
    model: Any,
    key: str,
    name: str,
    product: str,
    starts_at: datetime,
    ends_at: datetime,
) -> Described:
    """The activity's name and product, trimmed, once every value is checked (a bad one is
    named) and the key is free among `model`'s rows."""
    if not KEY.match(key):
        raise InvalidInput(N_("a key is 1-64 lowercase letters, digits, '-' or '_'"), field="key")
    name, product = name.strip(), product.strip()
    if not name or len(name) > 200:
        raise InvalidInput(N_("an activity needs a name of at most 200 characters"), field="name")
    if not product or len(product) > 64:
        raise InvalidInput(N_("name the product (its SKU, at most 64 characters)"), field="product")
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidInput(N_("give times with their time zone"), field="starts_at")
    if ends_at <= starts_at:
        raise InvalidInput(N_("an activity ends after it starts"), field="ends_at")
    if session.scalar(select(model.id).where(model.key == key)) is not None:
        raise taken(key)
    internal_source(session, SOURCE)  # now, not by the first buyers all at once
    return Described(name, product)


def add_activity(session: Session, activity: Any) -> None:
    """Store a new activity checked by check_activity: one made with its key by someone else
    since the check is a 409 naming the key, not an error."""
    session.add(activity)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise taken(activity.key) from None


def taken(key: str) -> Conflict:
    return Conflict(N_("an activity with the key %(key)s exists"), field="key", params={"key": key})


def check_range(value: int, least: int, most: int, field: str) -> None:
    if not least <= value <= most:
        raise InvalidInput(
            N_("%(field)s must be %(least)s to %(most)s"),
            field=field,
            params={"field": field, "least": least, "most": most},
        )


def check_price(fen: int, field: str = "price") -> None:
    check_range(fen, 1, MAX_FEN, field)


def payer(session: Session, ref: str | int) -> Customer:
    """The customer the mall names, by id or any identity; a 404 naming `customer`."""
    try:
        return customers.find_customer(session, ref)
    except SiyuError as error:  # find_customer names its own argument
        error.field = "customer"
        raise


def order_id(value: str) -> str:
    value = str(value).strip()
    if not value or len(value) > MAX_ORDER_ID:
        raise InvalidInput(N_("an order id is 1 to 128 characters"), field="order_id")
    return value


def order_used(order: str) -> Conflict:
    return Conflict(
        N_("order %(order)s paid for another place already"),
        code="order_used",
        field="order_id",
        params={"order": order},
    )


def not_live(key: str) -> Conflict:
    return Conflict(
        N_("the activity %(key)s is not on now"), code="not_live", field="key", params={"key": key}
    )


class Happened(NamedTuple):
    """One event of a promotion (a coupon, a reservation, a group, a refund): its message id
    names what it is about, so the same thing is never recorded twice; `at` when it happened at
    a time of its own (else the batch's)."""

    message_id: str
    customer_id: int
    properties: dict[str, Any]
    at: datetime | None = None


CHUNK = 500  # events to the outbox per write


def record(session: Session, event: str, at: datetime, happened: list[Happened]) -> None:
    """The promotions' one writer of events (through events' own), received now: a time in
    the past (the demo's history, an order's time) is when it happened, not when Siyu heard."""
    now = utcnow()
    rows = [
        events.event_row(
            message_id=h.message_id,
            source=SOURCE,
            event=event,
            customer_id=h.customer_id,
            timestamp=h.at or at,
            original_timestamp=h.at or at,
            received_at=max(now, h.at or at),
            properties=h.properties,
        )
        for h in happened
    ]
    for start in range(0, len(rows), CHUNK):
        events.record(session, SOURCE, rows[start : start + CHUNK])
