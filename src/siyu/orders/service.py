"""Keep the orders table true to Order Completed / Order Refunded, whatever order they arrive in."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.errors import InvalidInput
from siyu.orders.models import Order

ORDER_EVENTS = ("Order Completed", "Order Refunded")
MAX_YUAN = Decimal(2**63 - 1).scaleb(-2)  # fen in a BIGINT column


def to_fen(value: object, field: str) -> int:
    """Yuan (as a number or text) to integer fen, rounding half up; never through float."""
    try:
        amount = Decimal(str(value).replace(",", "").replace("¥", "").strip())
    except InvalidOperation:
        raise InvalidInput(f"{value!r} is not an amount", field=field) from None
    if not amount.is_finite() or amount < 0:
        raise InvalidInput(f"{value!r} is not a non-negative amount", field=field)
    if amount > MAX_YUAN:
        raise InvalidInput(f"{value!r} is larger than any amount Siyu can store", field=field)
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def order_amount(properties: dict) -> tuple[str, object] | None:
    for name in ("revenue", "total", "amount"):
        if properties.get(name) not in (None, ""):
            return name, properties[name]
    return None


def amount_fen(properties: dict) -> int | None:
    """The order's amount (`revenue`, `total` or `amount`) in fen; None when it names none. An
    amount that is not one raises InvalidInput naming its property."""
    found = order_amount(properties)
    return None if found is None else to_fen(found[1], found[0])


def check_order_event(event: str, properties: dict) -> None:
    """Reject, before anything is written, an order event that cannot maintain the orders table."""
    order_id = properties.get("order_id")
    if order_id in (None, "") or len(str(order_id)) > 128:
        raise InvalidInput(
            "order_id is required (at most 128 characters)", field="properties.order_id"
        )
    found = order_amount(properties)
    if event == "Order Completed" and found is None:
        raise InvalidInput("revenue (or total) is required", field="properties.revenue")
    if found:
        to_fen(found[1], f"properties.{found[0]}")


def load_orders(session: Session, order_ids: set[str]) -> dict[str, Order]:
    """The existing orders among these ids, in one query per 500."""
    found: dict[str, Order] = {}
    wanted = sorted(order_ids)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for order in session.scalars(select(Order).where(Order.order_id.in_(chunk))):
            found[order.order_id] = order
    return found


def apply_order_events(session: Session, rows: list[dict]) -> None:
    """Keep the orders table true to the order events among these stored ones (outbox rows:
    a subscriber of events' one writer, in the transaction that stores them)."""
    mine = [r for r in rows if r["type"] == "track" and r["event"] in ORDER_EVENTS]
    if not mine:
        return
    properties = [orjson.loads(r["properties"]) for r in mine]
    known = load_orders(session, {str(p["order_id"]) for p in properties})
    for row, props in zip(mine, properties, strict=True):
        apply_order_event(
            session,
            row["event"],
            props,
            row["customer_id"],
            row["timestamp"],
            row["source"],
            row["touchpoint"],
            known,
        )


def apply_order_event(
    session: Session,
    event: str,
    properties: dict,
    customer_id: int,
    timestamp: datetime,
    source: str,
    touchpoint: str | None,
    known: dict[str, Order],
) -> Order:
    """Apply one order event; `known` holds the batch's existing orders (see load_orders)."""
    order_id = str(properties["order_id"])
    order = known.get(order_id)
    if order is None:
        order = Order(
            order_id=order_id,
            customer_id=customer_id,
            source=source,
            status="completed",
            amount_fen=0,
            refunded_fen=0,
            products=[],
        )
        session.add(order)
        known[order_id] = order
    found = order_amount(properties)
    if event == "Order Completed":
        if found is None:  # check_order_event refused it before anything was written
            raise InvalidInput("revenue (or total) is required", field="properties.revenue")
        order.amount_fen = to_fen(found[1], "revenue")
        order.paid_at = timestamp
        order.customer_id = customer_id
        order.currency = str(properties.get("currency") or "CNY")[:3].upper()
        order.products = properties.get("products") or []
        order.store = _text(properties.get("store"))
        order.touchpoint = touchpoint
    else:
        refund = to_fen(found[1], "revenue") if found else None
        order.refunded_fen = refund if refund is not None else order.amount_fen
        order.refunded_at = timestamp
    order.status = _status(order)
    return order


def _status(order: Order) -> str:
    if not order.refunded_fen:
        return "completed"
    if order.amount_fen and order.refunded_fen < order.amount_fen:
        return "partially_refunded"
    return "refunded"


def _text(value: object) -> str | None:
    return str(value)[:64] if value not in (None, "") else None
