"""Attribution: six models share each order among the touches in its lookback window."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from siyu.analytics import attribution
from siyu.analytics.attribution import CONVERSION, NULL, START, removal_effects
from tests.analytics.factories import SHANGHAI

PERIOD = {"start": date(2026, 11, 1), "end": date(2026, 11, 30)}
PAID = datetime(2026, 11, 20, 12, tzinfo=SHANGHAI)


@pytest.fixture
def journey(rows):
    """One order of ¥100 after four touches: A, B, C, D (the last 1 day before the order)."""
    rows.touchpoint("A", "poster", "owned")
    rows.touchpoint("D", "paid_ad", "paid")
    rows.customer(1)
    for days, point in ((40, "old"), (20, "A"), (10, "B"), (5, "C"), (1, "D")):
        rows.event(1, "QR Code Scanned", PAID - timedelta(days=days), touchpoint=point)
    rows.order(1, PAID, 10_000)
    rows.customer(2)
    rows.order(2, PAID, 5_000)  # no touch at all: direct


def credit(result) -> dict[str, tuple[float, int]]:
    return {row.touchpoint: (row.conversions, row.revenue_fen) for row in result.touchpoints}


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("first_touch", {"A": 1.0}),
        ("last_touch", {"D": 1.0}),
        ("linear", {"A": 0.25, "B": 0.25, "C": 0.25, "D": 0.25}),
        ("position", {"A": 0.4, "B": 0.1, "C": 0.1, "D": 0.4}),
    ],
)
def test_rule_based_models_share_the_order(journey, report, model, expected):
    result = report(attribution, period=PERIOD, model=model, lookback_days=30)

    found = credit(result)
    assert found.pop("direct") == (1.0, 5_000)
    assert {k: v[0] for k, v in found.items()} == pytest.approx(expected)
    assert sum(v[1] for v in found.values()) == pytest.approx(10_000, abs=2)
    assert result.conversions == 2 and result.revenue_fen == 15_000


def test_time_decay_halves_the_weight_every_half_life(journey, report):
    result = report(
        attribution, period=PERIOD, model="time_decay", lookback_days=30, half_life_days=5
    )

    found = {k: v[0] for k, v in credit(result).items() if k != "direct"}
    raw = {"A": 2 ** (-20 / 5), "B": 2 ** (-10 / 5), "C": 2 ** (-5 / 5), "D": 2 ** (-1 / 5)}
    total = sum(raw.values())
    assert found == pytest.approx({k: v / total for k, v in raw.items()}, rel=1e-4)


def test_the_lookback_window_drops_older_touches(journey, report):
    result = report(attribution, period=PERIOD, model="first_touch", lookback_days=7)

    assert credit(result)["C"] == (1.0, 10_000)


def test_entry_types_and_roi_of_paid_touchpoints(journey, report):
    result = report(attribution, period=PERIOD, model="last_touch")

    by_entry = {e.entry_type: e.conversions for e in result.entry_types}
    assert by_entry == {"direct": 1.0, "paid": 1.0}
    (ad,) = [row for row in result.touchpoints if row.touchpoint == "D"]
    assert ad.entry_type == "paid" and ad.cost_fen is None  # no cost recorded in the lake


def test_markov_removal_effect_of_a_chain():
    # Two paths: start → A → B → conversion, start → A → null. Without B nothing converts;
    # without A nothing either: both have a removal effect of 1.
    transitions = [
        {"source": START, "target": "A", "paths": 2},
        {"source": "A", "target": "B", "paths": 1},
        {"source": "A", "target": NULL, "paths": 1},
        {"source": "B", "target": CONVERSION, "paths": 1},
    ]
    assert removal_effects(transitions) == pytest.approx({"A": 1.0, "B": 1.0})
    # A second way in (start → C → conversion) halves what removing A or B loses.
    transitions += [
        {"source": START, "target": "C", "paths": 2},
        {"source": "C", "target": CONVERSION, "paths": 2},
    ]
    effects = removal_effects(transitions)
    assert effects["A"] == pytest.approx(effects["B"])
    assert effects["C"] == pytest.approx(2 / 3)  # P = 1/2·1/2 + 1/2 = 3/4; without C: 1/4


def test_markov_shares_every_order_in_proportion(journey, report):
    result = report(attribution, period=PERIOD, model="markov")

    assert sum(row.conversions for row in result.touchpoints) == pytest.approx(2)
    assert sum(row.revenue_fen for row in result.touchpoints) == pytest.approx(15_000, abs=3)


@pytest.mark.parametrize(("model", "winner"), [("first_touch", "m-a"), ("last_touch", "m-b")])
def test_touches_at_the_same_moment_are_told_apart_by_their_code(rows, report, model, winner):
    """First touch takes the smallest code of the earliest moment, last touch the largest of the
    latest: the same order however the rows come, on every engine."""
    rows.customer(1)
    at = PAID - timedelta(days=2)
    for point in ("m-b", "m-a"):
        rows.event(1, "QR Code Scanned", at, touchpoint=point)
    rows.order(1, PAID, 10_000)

    result = report(attribution, period=PERIOD, model=model, lookback_days=30)

    assert credit(result) == {winner: (1.0, 10_000)}
