"""Guides' customers and the goods-fit quadrants."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from siyu.analytics import goods, guides
from tests.analytics.factories import SHANGHAI

PERIOD = {"start": date(2026, 11, 1), "end": date(2026, 11, 30)}


def at(day: int) -> datetime:
    return datetime(2026, 11, day, 12, tzinfo=SHANGHAI)


def test_each_guide_sees_their_customers_numbers(rows, report):
    rows.customer(1, owner_id=7, first_seen_at=at(2))  # new this period
    rows.customer(2, owner_id=7, first_seen_at=datetime(2026, 1, 1, tzinfo=SHANGHAI))
    rows.customer(3, owner_id=8, first_seen_at=at(3))
    rows.customer(4)  # nobody's
    rows.event(1, "Message Sent", at(2))
    rows.event(2, "Message Sent", at(4))
    rows.event(2, "Message Sent", at(5))
    reach = {"origin": "broadcast", "origin_id": 4}
    rows.event(2, "Message Sent", at(5), channel="wecom", **reach)  # a 群发 the guide confirmed
    rows.event(1, "Message Sent", at(5), channel="sms", **reach)  # the brand's SMS: not the guide's
    rows.event(2, "Contact Deleted", at(6))
    rows.order(1, at(3), 2_000)
    rows.order(1, at(9), 3_000)
    rows.order(3, at(9), 1_000)
    rows.order(4, at(9), 9_000)

    result = report(guides, period=PERIOD)

    by_id = {g.guide_id: g for g in result.guides}
    assert set(by_id) == {7, 8}
    seven = by_id[7]
    assert (seven.customers, seven.new_customers, seven.lost_customers) == (2, 1, 1)
    assert (seven.messages, seven.buyers, seven.orders, seven.gmv_fen) == (4, 1, 2, 5_000)
    assert result.tasks_tracked is True
    assert (seven.tasks_assigned, seven.execution_rate) == (0, None)


def _task(rows, customer_id: int, task_id: int, guide_id: int, day: int, done_day=None) -> None:
    properties = {"task_id": task_id, "guide_id": guide_id, "kind": "message"}
    rows.event(customer_id, "Task Assigned", at(day), **properties)
    if done_day is not None:
        rows.event(customer_id, "Task Completed", at(done_day), **properties)


def test_each_guides_task_execution_rate(rows, report):
    for cid, owner in ((1, 7), (2, 7), (3, 7), (4, 8), (5, 8), (6, 9)):
        rows.customer(cid, owner_id=owner)
    _task(rows, 1, 100, 7, 2, done_day=3)
    _task(rows, 2, 100, 7, 2, done_day=4)
    _task(rows, 3, 100, 7, 2)  # not done
    _task(rows, 1, 101, 7, 10, done_day=11)
    _task(rows, 4, 100, 8, 2)
    _task(rows, 5, 100, 8, 2, done_day=29)
    # Guide 7 held customer 6 when task 100 was handed out; guide 9 owns them now.
    _task(rows, 6, 100, 7, 2, done_day=5)
    _task(rows, 2, 99, 7, 1)  # assigned before the period: not counted
    rows.event(2, "Task Completed", datetime(2026, 10, 31, 23, 59, 59, tzinfo=SHANGHAI))
    _task(rows, 4, 102, 8, 20, done_day=None)
    rows.event(4, "Task Completed", datetime(2026, 12, 1, 1, tzinfo=SHANGHAI), task_id=102)

    result = report(guides, period={"start": date(2026, 11, 2), "end": date(2026, 11, 30)})

    work = {g.guide_id: (g.tasks_assigned, g.tasks_executed) for g in result.guides}
    assert work[7] == (5, 4) and work[8] == (3, 1) and work[9] == (0, 0)
    rates = {g.guide_id: g.execution_rate for g in result.guides}
    assert rates[7] == pytest.approx(0.8) and rates[8] == pytest.approx(1 / 3)
    assert rates[9] is None
    headers, table = guides.table(result, lambda text: text)
    assert headers[-3:] == ["Tasks assigned", "Tasks executed", "Execution rate"]
    assert ["7", 3, 0, 0, 0, 0, 0, "0.00", 5, 4, "0.800"] in [[str(r[0]), *r[1:]] for r in table]


def line(product_id: str, category: str, price: str, quantity: int = 1) -> dict:
    return {
        "product_id": product_id,
        "name": product_id.upper(),
        "category": category,
        "price": price,
        "quantity": quantity,
    }


def test_products_fall_into_the_four_quadrants(rows, report):
    for cid in (1, 2, 3, 4):
        rows.customer(cid)
    for day in (2, 3, 4, 5):  # one buyer, four orders of a cheap drink
        rows.order(1, at(day), 1_000, products=[line("tea", "drinks", "10.00")])
    rows.order(2, at(2), 50_000, products=[line("gift", "boxes", "250.00", 2)])
    rows.order(3, at(2), 500, products=[line("straw", "extras", "5.00")])
    for day in (6, 7):
        rows.order(4, at(day), 40_000, products=[line("card", "cards", "400.00")])

    result = report(goods, period=PERIOD)

    quadrant = {item.key: item.quadrant for item in result.items}
    assert quadrant == {
        "tea": "high_frequency_low_value",
        "gift": "low_frequency_high_value",
        "card": "high_frequency_high_value",
        "straw": "low_frequency_low_value",
    }
    gift = next(item for item in result.items if item.key == "gift")
    assert (gift.quantity, gift.value_fen, gift.average_order_fen) == (2, 50_000, 50_000)
