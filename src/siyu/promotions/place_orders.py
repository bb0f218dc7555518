"""Group buys and tiered prices from the orders that arrive as events: an `Order Completed`
naming a group buy (`group_buy`: its key, and `group`: the code of the group it joins, none to
open one) or a tiered price (`tiered`: its key) takes the place the order paid for, as the mall's
API would. The order is the customer's who placed it, its amount the order's (`revenue`, `total`
or `amount`); a second delivery of the same order takes nothing more (an order pays for one
place)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from siyu.core.errors import InvalidInput, SiyuError
from siyu.core.i18n import N_
from siyu.orders import service as orders
from siyu.promotions import group_buys, tiered

log = logging.getLogger("siyu.promotions")
ORDER_COMPLETED = "Order Completed"


def apply_orders(session: Session, rows: list[dict[str, Any]]) -> None:
    """A subscriber of events' one writer: an order that cannot take its place (a full group, a
    closed activity, an order used already) is logged and skipped, never a reason to refuse the
    event."""
    for row in rows:
        if row["event"] != ORDER_COMPLETED or row["type"] != "track":
            continue
        text = row["properties"] or ""
        if '"group_buy"' not in text and '"tiered"' not in text:  # JSON text: most orders
            continue
        properties = orjson.loads(text)
        try:
            with session.begin_nested():
                _take_place(session, properties, row["customer_id"], row["timestamp"])
        except (SiyuError, KeyError, TypeError, ValueError) as error:
            log.warning(
                "order %r took no group-buy or tiered place: %s", properties.get("order_id"), error
            )


def _take_place(
    session: Session, properties: dict[str, Any], customer_id: int | None, at: datetime
) -> None:
    if customer_id is None:
        raise InvalidInput(N_("the order names no customer"), field="customer")
    order = str(properties["order_id"])
    if properties.get("group_buy"):
        fen = orders.amount_fen(properties)
        if fen is None:
            raise InvalidInput(N_("the order names no amount"), field="revenue")
        code = properties.get("group")
        if code:
            group_buys.join_group(session, str(code), customer_id, order, fen, now=at)
        else:
            group_buys.open_group(
                session, str(properties["group_buy"]), customer_id, order, fen, now=at
            )
    if properties.get("tiered"):
        tiered.join(session, str(properties["tiered"]), customer_id, order, now=at)
