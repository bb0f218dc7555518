"""A broadcast's results: per arm, what reached the customers and what they bought within the
window; lift against the holdout with its interval."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from siyu.analytics import message_results
from tests.analytics.factories import SHANGHAI

PLANNED_AT = datetime(2026, 11, 10, 10, tzinfo=SHANGHAI)
QUERY = {
    "origin": "broadcast",
    "origin_id": 7,
    "period": {"start": date(2026, 11, 10), "end": date(2026, 11, 10)},
    "window_days": 7,
}


def plan(rows, customer: int, arm: str, origin_id: int = 7) -> None:
    rows.customer(customer)
    rows.event(
        customer,
        "Message Planned",
        PLANNED_AT,
        origin="broadcast",
        origin_id=origin_id,
        variant=arm,
        channel="sms",
    )


def test_orders_within_the_window_count_for_the_arm_each_customer_was_planned_in(rows, report):
    for customer in (1, 2, 3, 4):
        plan(rows, customer, "A")
    for customer in (5, 6):
        plan(rows, customer, "B")
    for customer in (7, 8):
        plan(rows, customer, "holdout")
    plan(rows, 9, "A", origin_id=8)  # another broadcast's
    for customer in (1, 2, 3, 5):
        rows.event(
            customer, "Message Sent", PLANNED_AT, origin="broadcast", origin_id=7, variant="A"
        )
    rows.event(4, "Message Failed", PLANNED_AT, origin="broadcast", origin_id=7, variant="A")
    rows.event(
        1, "Message Clicked", PLANNED_AT + timedelta(hours=1), origin="broadcast", origin_id=7
    )
    rows.order(1, PLANNED_AT + timedelta(days=1), 30_000)
    rows.order(1, PLANNED_AT + timedelta(days=2), 10_000)
    rows.order(2, PLANNED_AT - timedelta(hours=1), 50_000)  # before the message: not counted
    rows.order(3, PLANNED_AT + timedelta(days=8), 50_000)  # after the window
    rows.order(5, PLANNED_AT + timedelta(days=6), 20_000)
    rows.order(7, PLANNED_AT + timedelta(days=3), 5_000)
    rows.order(9, PLANNED_AT + timedelta(days=1), 99_000)

    result = report(message_results, **QUERY)

    arms = {a.arm: a for a in result.arms}
    assert [a.arm for a in result.arms] == ["A", "B", "holdout"]
    a, b, holdout = arms["A"], arms["B"], arms["holdout"]
    assert (a.customers, a.sent, a.failed, a.clicked) == (4, 3, 1, 1)
    assert (a.buyers, a.orders, a.gmv_fen) == (1, 2, 40_000)
    assert (b.customers, b.sent, b.buyers, b.gmv_fen) == (2, 1, 1, 20_000)
    assert (holdout.customers, holdout.buyers, holdout.gmv_fen) == (2, 1, 5_000)
    lift = result.lift
    assert lift.treated_conversion == pytest.approx(2 / 6)
    assert lift.holdout_conversion == pytest.approx(0.5)
    assert lift.difference == pytest.approx(2 / 6 - 0.5)
    assert lift.low < lift.difference < lift.high
    assert lift.incremental_gmv_fen == round((60_000 / 6 - 2_500) * 6)


def test_without_a_holdout_there_is_no_lift(rows, report):
    plan(rows, 1, "A")
    result = report(message_results, **QUERY)
    assert [a.customers for a in result.arms] == [1]
    assert result.lift is None


def test_the_interval_matches_the_normal_approximation():
    arms = [
        message_results.Arm(arm="A", customers=1000, buyers=120),
        message_results.Arm(arm="holdout", customers=200, buyers=16),
    ]
    lift = message_results.lift(arms)
    error = (0.12 * 0.88 / 1000 + 0.08 * 0.92 / 200) ** 0.5
    assert lift.difference == pytest.approx(0.04)
    assert (lift.low, lift.high) == pytest.approx(
        (0.04 - 1.959964 * error, 0.04 + 1.959964 * error)
    )
    assert lift.relative == pytest.approx(0.5)


def enter(rows, customer: int, entry: int, arm: str | None = None, journey_id: int = 3) -> None:
    """A journey entry: Journey Entered, then the holdout step's outcome with the entry's arm
    (the engine gives an entry an arm only in the holdout or a split's variant)."""
    rows.customer(customer)
    common = {"journey": "win-back", "journey_id": journey_id, "version": 1, "entry_id": entry}
    rows.event(customer, "Journey Entered", PLANNED_AT, **common)
    if arm:
        rows.event(
            customer,
            "Journey Step Completed",
            PLANNED_AT + timedelta(seconds=1),
            step="holdout",
            arm=arm,
            **common,
        )


def test_a_journeys_arms_are_its_entries_with_or_without_a_message(rows, report):
    for n, customer in enumerate((1, 2, 3)):
        enter(rows, customer, entry=100 + n)
    for n, customer in enumerate((4, 5)):
        enter(rows, customer, entry=200 + n, arm="holdout")
    enter(rows, 6, entry=300, journey_id=4)  # another journey's
    rows.event(2, "Message Sent", PLANNED_AT, origin="journey", origin_id=3, step="hello")
    rows.order(2, PLANNED_AT + timedelta(days=2), 30_000)
    rows.order(3, PLANNED_AT + timedelta(days=9), 30_000)  # after the window
    rows.order(4, PLANNED_AT + timedelta(days=1), 10_000)
    rows.order(6, PLANNED_AT + timedelta(days=1), 99_000)

    result = report(message_results, **(QUERY | {"origin": "journey", "origin_id": 3}))

    arms = {a.arm: a for a in result.arms}
    assert [a.arm for a in result.arms] == ["A", "holdout"]
    assert (arms["A"].customers, arms["A"].sent, arms["A"].buyers) == (3, 1, 1)
    assert (arms["holdout"].customers, arms["holdout"].buyers) == (2, 1)
    assert arms["holdout"].gmv_fen == 10_000 and arms["A"].gmv_fen == 30_000
    assert result.lift.treated_conversion == pytest.approx(1 / 3)
    assert result.lift.holdout_conversion == pytest.approx(0.5)
