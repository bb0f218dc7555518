"""The orders table follows Order Completed / Order Refunded, in any arrival order, in fen."""

from __future__ import annotations

from sqlalchemy import select

from siyu.orders.models import Order
from tests.helpers import post_batch, track


def _order(session, order_id: str) -> Order:
    session.expire_all()
    return session.scalar(select(Order).where(Order.order_id == order_id))


def test_completed_order_is_stored_in_fen_with_its_products(client, write_key, session):
    products = [{"product_id": "tea-1", "name": "杨枝甘露", "price": 19.9, "quantity": 2}]
    post_batch(
        client,
        write_key,
        [
            track(
                "Order Completed",
                properties={
                    "order_id": "A1",
                    "revenue": "39.80",
                    "products": products,
                    "store": "HZ-01",
                    "touchpoint": "mini-program",
                },
            )
        ],
    )
    order = _order(session, "A1")
    assert (order.amount_fen, order.status, order.store, order.touchpoint) == (
        3980,
        "completed",
        "HZ-01",
        "mini-program",
    )
    assert order.products == products


def test_float_revenue_rounds_half_up_to_the_fen(client, write_key, session):
    post_batch(
        client,
        write_key,
        [track("Order Completed", properties={"order_id": "A2", "revenue": 0.125})],
    )
    assert _order(session, "A2").amount_fen == 13


def test_partial_then_full_refund(client, write_key, session):
    post_batch(
        client,
        write_key,
        [track("Order Completed", properties={"order_id": "A3", "revenue": "100"})],
    )
    post_batch(
        client, write_key, [track("Order Refunded", properties={"order_id": "A3", "revenue": "30"})]
    )
    assert (_order(session, "A3").status, _order(session, "A3").refunded_fen) == (
        "partially_refunded",
        3000,
    )
    post_batch(client, write_key, [track("Order Refunded", properties={"order_id": "A3"})])
    assert (_order(session, "A3").status, _order(session, "A3").refunded_fen) == ("refunded", 10000)


def test_refund_arriving_before_the_order_is_kept(client, write_key, session):
    post_batch(
        client, write_key, [track("Order Refunded", properties={"order_id": "A4", "revenue": "20"})]
    )
    post_batch(
        client,
        write_key,
        [track("Order Completed", properties={"order_id": "A4", "revenue": "50"})],
    )
    order = _order(session, "A4")
    assert (order.amount_fen, order.refunded_fen, order.status) == (
        5000,
        2000,
        "partially_refunded",
    )


def test_negative_or_garbled_revenue_is_rejected_with_the_field(client, write_key, session):
    body = post_batch(
        client,
        write_key,
        [
            track("Order Completed", properties={"order_id": "A5", "revenue": "-3"}),
            track("Order Completed", properties={"order_id": "A6", "revenue": "12,3x"}),
        ],
    ).json()
    assert [r["field"] for r in body["rejected"]] == ["properties.revenue"] * 2
    assert _order(session, "A5") is None and _order(session, "A6") is None
