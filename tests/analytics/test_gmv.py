"""GMV = visitors × conversion × average order value × frequency, and who explains a change."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from siyu.analytics import gmv
from siyu.analytics.decompose import shapley_split, whole_fen
from tests.analytics.factories import SHANGHAI

PERIOD = {"start": date(2026, 11, 8), "end": date(2026, 11, 14)}  # previous: Nov 1–7


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=SHANGHAI)


@pytest.fixture
def brand(rows):
    rows.touchpoint("poster-1", "poster", "owned")
    rows.touchpoint("ad-1", "paid_ad", "paid")
    for cid, point in ((1, "poster-1"), (2, "poster-1"), (3, "ad-1"), (4, "ad-1")):
        rows.customer(cid, first_touchpoint=point, store_id=10 + cid % 2, owner_id=cid % 2)
    rows.customer(5, merged_into=1)
    for cid in (1, 2, 3, 4):
        rows.event(cid, "Product Viewed", at(2))  # previous period: 4 visitors
    rows.order(1, at(3), 10_000)  # previous: 1 buyer, 1 order, ¥100
    for cid in (1, 2, 3):
        rows.event(cid, "Product Viewed", at(9))
    rows.order(5, at(9), 6_000)  # merged into 1: counts for 1
    rows.order(1, at(10), 6_000)
    rows.order(2, at(11), 9_000, refunded_fen=1_000, status="partially_refunded")
    rows.order(3, at(12), 5_000, status="refunded")  # not counted
    rows.order(4, at(13, 23), 3_000)  # a buyer with no event is still a visitor


def test_the_factors_multiply_to_gmv_and_the_split_sums_to_the_change(brand, report):
    result = report(gmv, period=PERIOD)

    now, before = result.total.current, result.total.previous
    assert (now.visitors, now.buyers, now.orders, now.gmv_fen) == (4, 3, 4, 23_000)
    assert (before.visitors, before.buyers, before.orders, before.gmv_fen) == (4, 1, 1, 10_000)
    assert result.total.change_fen == 13_000
    assert sum(result.total.explained_fen.values()) == 13_000
    assert result.total.explained_fen["visitors"] == 0  # as many visitors in both periods
    product = now.visitors * result.total.conversion * result.total.average_order_fen
    assert product * result.total.frequency == pytest.approx(23_000)


def test_a_breakdown_by_touchpoint_adds_up_to_the_total(brand, report):
    result = report(gmv, period=PERIOD, breakdown="touchpoint")

    by_key = {row.key: row for row in result.rows}
    assert by_key["poster-1"].current.gmv_fen == 20_000
    assert by_key["ad-1"].current.gmv_fen == 3_000
    assert sum(row.current.gmv_fen for row in result.rows) == result.total.current.gmv_fen
    for row in result.rows:
        assert sum(row.explained_fen.values()) == row.change_fen


def test_filters_keep_only_the_chosen_customers(brand, report):
    result = report(gmv, period=PERIOD, filters={"touchpoint_type": ["paid_ad"]})

    assert result.total.current.gmv_fen == 3_000
    assert result.total.current.visitors == 2


def test_the_shapley_split_is_exact_with_zeros():
    shares = shapley_split([0, 0, 0, 0], [10, 0.5, 2000, 1.5])
    assert sum(shares) == pytest.approx(15_000)
    assert sum(whole_fen(shares, 15_000)) == 15_000
    # 2·3 → 4·5: the first factor's switch is worth 6 or 10 (before or after the second's), the
    # second's 4 or 8; each gets the average.
    assert shapley_split([2, 3], [4, 5]) == pytest.approx([8, 6])
