"""The console pages' runner queries: the home page's overview and each touchpoint's or code's
numbers, counted by hand (test_engines.py runs them on Spark too, as every runner query)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from siyu.analytics import overview, touchpoint_numbers
from tests.analytics.factories import SHANGHAI

NOVEMBER = {"start": date(2026, 11, 1), "end": date(2026, 11, 30)}


def on(day: int, hour: int = 10) -> datetime:
    """A moment on the brand's `day` of November 2026 (0 and below: October's last days)."""
    return datetime(2026, 11, 1, hour, tzinfo=SHANGHAI) + timedelta(days=day - 1)


def test_the_overview_counts_what_customers_did_and_counted_orders(rows, report):
    rows.touchpoint("poster-1", "poster", "owned")
    rows.customer(1, first_touchpoint="poster-1", first_seen_at=on(3))
    rows.event(1, "QR Code Scanned", on(3), touchpoint="poster-1")
    rows.order(1, on(3, 12), 10_000)
    rows.order(1, on(4), 5_000, status="refunded")  # fully refunded: not an order
    rows.customer(2, first_seen_at=on(-20))  # came in October, no touchpoint
    rows.order(2, on(5), 3_000, refunded_fen=1_000, status="partially_refunded")
    rows.customer(3, first_seen_at=on(-40))
    rows.event(3, "Message Sent", on(6))  # the brand wrote: 3 did nothing
    rows.event(3, "Task Assigned", on(6))
    rows.customer(4, first_seen_at=on(-10))
    rows.event(4, "Product Viewed", on(-5))  # active in the previous period only
    rows.customer(5, merged_into=1, first_seen_at=on(2))
    rows.order(5, on(7), 2_000)  # merged into 1: 1 bought twice

    result = report(overview, period=NOVEMBER)

    now, before = result.current, result.before
    assert (now.new_customers, now.active_customers, now.buyers) == (1, 2, 2)
    assert (now.orders, now.gmv_fen, now.average_order_fen) == (3, 14_000, 4_667)
    assert (before.new_customers, before.active_customers, before.orders) == (2, 1, 0)
    days = {d.day: d for d in result.days}
    assert len(days) == 60 and days[date(2026, 11, 3)].orders == 1
    assert days[date(2026, 11, 6)].active_customers == 0
    assert days[date(2026, 11, 7)].active_customers == 1  # 5's order counts as 1's visit
    (arrived,) = [a for a in result.arrivals if a.day >= NOVEMBER["start"]]
    assert (arrived.touchpoint_type, arrived.entry_type, arrived.customers) == (
        "poster",
        "owned",
        1,
    )


def test_a_guide_filter_keeps_only_their_customers(rows, report):
    rows.customer(1, owner_id=7, first_seen_at=on(2))
    rows.order(1, on(2), 1_000)
    rows.customer(2, owner_id=8, first_seen_at=on(2))
    rows.order(2, on(2), 9_000)

    result = report(overview, period=NOVEMBER, filters={"guide": [7]})

    assert (result.current.new_customers, result.current.buyers) == (1, 1)
    assert result.current.gmv_fen == 1_000


def test_scans_and_new_customers_are_counted_independently(rows, report):
    rows.touchpoint("store-1", "store", "owned")
    rows.customer(1, first_touchpoint="store-1", first_seen_at=on(2))
    rows.event(1, "QR Code Scanned", on(2), touchpoint="store-1")
    rows.event(1, "QR Code Scanned", on(9), touchpoint="store-1")  # came back: a scan, not new
    rows.customer(2, first_touchpoint="ad-1", first_seen_at=on(-30))
    rows.event(2, "QR Code Scanned", on(4), touchpoint="store-1")  # an old customer scans
    rows.event(2, "Contact Added", on(4), touchpoint="store-1")
    rows.event(1, "Contact Deleted", on(12))
    rows.order(1, on(10), 4_000)
    rows.order(1, on(11), 4_000, status="refunded")

    result = report(touchpoint_numbers, period=NOVEMBER, by="touchpoint")

    numbers = {row.key: row for row in result.rows}
    store = numbers["store-1"]
    assert (store.scans, store.new_customers, store.contacts) == (3, 1, 1)
    assert (store.deletions, store.orders, store.gmv_fen) == (1, 1, 4_000)
    assert "ad-1" not in numbers  # 2 came in October and did nothing it brought in November


def test_a_code_brings_whoever_first_scanned_or_added_through_it(rows, report):
    rows.customer(1, first_seen_at=on(-3))
    rows.event(1, "QR Code Scanned", on(-3), touchpoint="spring", code="poster-a")
    rows.event(1, "QR Code Scanned", on(2), touchpoint="spring", code="poster-b")
    rows.order(1, on(5), 6_600)
    rows.customer(2, first_seen_at=on(3))
    rows.event(2, "Contact Added", on(3), touchpoint="spring")  # no code: its touchpoint's

    by_code = report(touchpoint_numbers, period=NOVEMBER, by="code")
    one = report(touchpoint_numbers, period=NOVEMBER, by="code", key="poster-a")

    numbers = {row.key: row for row in by_code.rows}
    assert (numbers["poster-a"].scans, numbers["poster-a"].orders) == (0, 1)
    assert (numbers["poster-b"].scans, numbers["poster-b"].orders) == (1, 0)
    assert (numbers["spring"].contacts, numbers["spring"].new_customers) == (1, 1)
    assert [(row.day, row.gmv_fen) for row in one.rows] == [(date(2026, 11, 5), 6_600)]
