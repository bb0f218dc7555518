"""Coupons and the orders that arrive as events: an `Order Completed` that names coupons
redeems them, a full `Order Refunded` returns them; and the quarter-hourly expiry job."""

from __future__ import annotations

import logging

import orjson
from sqlalchemy.orm import Session

from siyu.core.errors import SiyuError
from siyu.orders import service as orders
from siyu.promotions.coupons import (
    CODE_CHARACTERS,
    CODE_LENGTH,
    Item,
    expire_due,
    normal_code,
    redeem,
    remind_due,
    return_for_refund,
)

log = logging.getLogger("siyu.promotions")


MAX_CODES_PER_ORDER = 10


def apply_order_events(session: Session, rows: list[dict]) -> None:
    """Stored `Order Completed` events that name coupons (`coupon`, or a list in `coupons`)
    redeem them; a fully refunded order returns its coupons. An outbox subscriber: a code Siyu
    did not issue (the mall's own) or one the order may not use is logged, never refused."""
    for row in rows:
        if row["type"] != "track" or row["event"] not in ("Order Completed", "Order Refunded"):
            continue
        if row["event"] == "Order Completed" and '"coupon' not in row["properties"]:
            continue  # JSON text: most orders name no coupon, and need not be parsed
        properties = orjson.loads(row["properties"])
        order_id = str(properties.get("order_id") or "").strip()
        if not order_id:
            continue
        if row["event"] == "Order Refunded":
            return_for_refund(session, order_id, row["timestamp"], whole_only=True)
            continue
        for code in _codes(properties):
            try:
                with session.begin_nested():
                    redeem(
                        session,
                        code,
                        order_id,
                        _fen(properties),
                        store=_text(properties.get("store")),
                        items=items_of(properties.get("products")),
                        customer_id=row["customer_id"],
                        now=row["timestamp"],
                    )
            except SiyuError as error:
                log.info("order %s did not redeem coupon %s: %s", order_id, code, error.message)


def _codes(properties: dict) -> list[str]:
    """The order's coupon codes that could be Siyu's: the mall's own (`NEW5`) cost no query."""
    found = properties.get("coupons")
    codes = found if isinstance(found, list) else [properties.get("coupon")]
    return [
        code
        for code in (normal_code(str(c)) for c in codes[:MAX_CODES_PER_ORDER] if c)
        if len(code) == CODE_LENGTH and set(code) <= CODE_CHARACTERS
    ]


def _fen(properties: dict) -> int:
    try:
        return orders.amount_fen(properties) or 0
    except SiyuError:
        return 0
    return 0


def _text(value: object) -> str | None:
    return str(value)[:64] if value not in (None, "") else None


def items_of(products: object) -> list[Item]:
    """An order's `products` (Segment's: sku or product_id, category, price, quantity)."""
    if not isinstance(products, list):
        return []
    found = []
    for product in products[:200]:
        if not isinstance(product, dict):
            continue
        sku = _text(product.get("sku") or product.get("product_id"))
        if sku is None:
            continue
        try:
            price = orders.to_fen(product["price"], "price") if "price" in product else None
            quantity = max(1, min(int(product.get("quantity") or 1), 10_000))
        except (SiyuError, TypeError, ValueError):
            continue
        found.append(Item(sku, _text(product.get("category")), price, quantity))
    return found


EXPIRY_KIND = "promotions.coupon_expiry"


def expiry_job(session: Session, payload: dict) -> None:
    """Job `promotions.coupon_expiry` (every quarter hour): coupons past their end expire, and
    those ending within three days get their `Coupon Expiring` (a reminder journey's entry)."""
    expire_due(session)
    remind_due(session)
