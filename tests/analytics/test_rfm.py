"""RFM scores with a fixed tie-break, the eight layers, and moves between two dates."""

from __future__ import annotations

from datetime import date, datetime

from siyu.analytics import rfm
from siyu.segments.rfm import LAYERS
from tests.analytics.factories import SHANGHAI

AS_OF = date(2026, 11, 30)


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=SHANGHAI)


def test_every_buyer_gets_one_of_the_eight_layers(rows, report):
    # recent, frequent, valuable — each combination once, around clear averages.
    for cid, (recent, frequent, valuable) in enumerate(LAYERS, start=1):
        rows.customer(cid)
        day = at(11, 29) if recent else at(6, 1)
        orders = 5 if frequent else 1
        for _ in range(orders):
            rows.order(cid, day, (50_000 if valuable else 1_000) // orders)

    result = report(rfm, as_of=AS_OF)

    assert result.buyers == 8
    assert {layer.layer: layer.customers for layer in result.layers} == {
        name: 1 for name in LAYERS.values()
    }


def test_equal_values_share_a_score_whatever_the_row_order(rows, report):
    for cid in range(1, 11):
        rows.customer(cid)
        rows.order(cid, at(11, 1), 1_000 if cid <= 6 else 2_000)

    result = report(rfm, as_of=AS_OF)

    # Ten buyers with equal recency and orders: everyone has the lowest rank, so score 1.
    assert result.scores[0][0] == 10
    assert sum(map(sum, result.scores)) == 10


def test_scores_are_quintiles_of_rank(rows, report):
    for cid in range(1, 11):
        rows.customer(cid)
        for _ in range(cid):  # 1 … 10 orders
            rows.order(cid, at(11, 1), 100)

    result = report(rfm, as_of=AS_OF)

    by_frequency = [sum(result.scores[r][f] for r in range(5)) for f in range(5)]
    assert by_frequency == [2, 2, 2, 2, 2]


def test_migration_counts_who_moved_between_layers(rows, report):
    rows.customer(1)
    rows.customer(2)
    rows.customer(3)
    rows.order(1, at(10, 1), 10_000)
    rows.order(2, at(10, 1), 1_000)
    rows.order(3, at(11, 20), 5_000)  # not a buyer on Oct 15

    result = report(rfm, as_of=AS_OF, compare_to=date(2026, 10, 15))

    moves = {(m.before, m.after): m.customers for m in result.migration}
    assert sum(moves.values()) == 3
    # Customer 3: recent, as frequent as the average (ties go up), below the average amount.
    assert moves[("none", "general_value")] == 1
    assert sum(n for (before, _), n in moves.items() if before == "none") == 1
