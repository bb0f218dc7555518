"""Funnels: ordered or any order, a conversion window, exclusions, breakdown, time to convert."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from siyu.analytics import funnels
from tests.analytics.factories import SHANGHAI

PERIOD = {"start": date(2026, 11, 1), "end": date(2026, 11, 30)}
T0 = datetime(2026, 11, 10, 9, tzinfo=SHANGHAI)
STEPS = [{"events": ["Viewed"]}, {"events": ["Carted"]}, {"events": ["Paid"]}]


def walk(rows, cid: int, *steps: tuple[str, float], touchpoint: str | None = None) -> None:
    rows.customer(cid, first_touchpoint=touchpoint)
    for event, hours in steps:
        rows.event(cid, event, T0 + timedelta(hours=hours))


def counts(result) -> list[int]:
    return [step.customers for step in result.total.steps]


def test_ordered_steps_within_the_window(rows, report):
    walk(rows, 1, ("Viewed", 0), ("Carted", 1), ("Paid", 2))
    walk(rows, 2, ("Viewed", 0), ("Paid", 1), ("Carted", 2))  # paid before carting
    walk(rows, 3, ("Viewed", 0), ("Carted", 1), ("Paid", 30))  # paid after the window
    walk(rows, 4, ("Carted", 0))  # never started

    result = report(funnels, period=PERIOD, steps=STEPS, window_hours=24)

    assert counts(result) == [3, 3, 1]
    assert result.total.steps[2].step_rate == pytest.approx(1 / 3)
    assert result.converted == 1
    assert result.mean_seconds_to_convert == 2 * 3600
    assert result.time_to_convert == [0, 0, 1, 0, 0]


def test_a_later_start_can_still_convert(rows, report):
    walk(rows, 1, ("Viewed", 0), ("Viewed", 48), ("Carted", 49), ("Paid", 50))

    result = report(funnels, period=PERIOD, steps=STEPS, window_hours=24)

    assert counts(result) == [1, 1, 1]
    assert result.mean_seconds_to_convert == 2 * 3600  # from the later start


def test_any_order_counts_steps_in_the_window_whatever_their_order(rows, report):
    walk(rows, 2, ("Viewed", 0), ("Paid", 1), ("Carted", 2))

    result = report(funnels, period=PERIOD, steps=STEPS, window_hours=24, order="any")

    assert counts(result) == [1, 1, 1]


def test_an_exclusion_event_drops_the_start(rows, report):
    walk(rows, 1, ("Viewed", 0), ("Refunded", 1), ("Carted", 2), ("Paid", 3))
    walk(rows, 2, ("Viewed", 0), ("Carted", 2), ("Paid", 3))

    result = report(funnels, period=PERIOD, steps=STEPS, window_hours=24, exclusions=["Refunded"])

    assert counts(result) == [1, 1, 1]


def test_breakdown_by_acquisition_touchpoint(rows, report):
    walk(rows, 1, ("Viewed", 0), ("Carted", 1), touchpoint="poster")
    walk(rows, 2, ("Viewed", 0), touchpoint="ad")

    result = report(funnels, period=PERIOD, steps=STEPS, breakdown="touchpoint")

    assert {row.key: [s.customers for s in row.steps] for row in result.rows} == {
        "poster": [1, 1, 0],
        "ad": [1, 0, 0],
    }


def test_templates_fill_the_steps():
    query = funnels.Query(period=PERIOD, template="rarra")
    assert [step.label for step in query.steps] == [
        "Retention",
        "Activation",
        "Referral",
        "Revenue",
        "Acquisition",
    ]
    with pytest.raises(ValueError):
        funnels.Query(period=PERIOD, steps=[{"events": ["Viewed"]}])


def test_only_what_the_customer_did_starts_a_funnel(rows, report):
    walk(rows, 1, ("Message Sent", 0), ("Paid", 1))  # the brand wrote; the customer paid
    walk(rows, 2, ("Viewed", 0), ("Paid", 1))
    steps = [{"events": ["Message Sent", "Viewed"]}, {"events": ["Paid"]}]

    for order in ("ordered", "any"):
        result = report(funnels, period=PERIOD, steps=steps, order=order)
        assert counts(result) == [1, 1], order


def test_a_first_step_the_customer_cannot_take_is_refused_naming_the_field(client, admin_token):
    answer = client.post(
        "/api/reports/funnels",
        json={
            "period": {"start": "2026-11-01", "end": "2026-11-30"},
            "steps": [{"events": ["Message Sent", "Task Assigned"]}, {"events": ["Message Read"]}],
        },
        headers={"Authorization": f"Bearer {admin_token}"},
    )

    assert answer.status_code == 422
    (problem,) = answer.json()["detail"]
    assert problem["loc"] == ["body", "steps"]
    assert "first step" in problem["msg"]
