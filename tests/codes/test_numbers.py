"""Per-code numbers from the lake: scans, contacts, deletions, orders and GMV of those brought."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from siyu.console.dashboard import today
from siyu.console.numbers import numbers
from siyu.core.periods import Period
from tests.console.test_dashboard import to_lake
from tests.helpers import post_batch, track


def _at(days_ago: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()


def _event(name: str, user: str | None, days_ago: int, **properties) -> dict:
    message = track(name, user_id=user, properties=properties, timestamp=_at(days_ago))
    if user is None:
        message["anonymousId"] = f"anon-{days_ago}"
    return message


def test_a_codes_numbers_follow_the_customers_it_brought(client, write_key):
    post_batch(
        client,
        write_key,
        [
            _event("QR Code Scanned", None, 5, code="poster-1", touchpoint="spring"),
            _event("QR Code Scanned", None, 5, code="poster-1", touchpoint="spring"),
            _event("QR Code Scanned", "u1", 5, code="poster-1", touchpoint="spring"),
            _event("Contact Added", "u1", 5, code="poster-1", touchpoint="spring", guide="g1"),
            _event("Contact Added", "u2", 4, code="poster-2", touchpoint="spring", guide="g1"),
            # An add with no code counts under its touchpoint.
            _event("Contact Added", "u3", 3, touchpoint="store-1", guide="g2"),
            _event("Order Completed", "u1", 2, order_id="o1", revenue=88),
            _event("Contact Deleted", "u1", 1, guide="g1"),
            # Outside the period: not counted, but u4 was brought by poster-1 earlier.
            _event("Contact Added", "u4", 60, code="poster-1", touchpoint="spring"),
            _event("Order Completed", "u4", 1, order_id="o2", revenue=12),
        ],
    )
    to_lake()
    period = Period.ending(today(), 30)
    by_code = numbers(period)
    by_touchpoint = numbers(period, by="touchpoint")
    only = numbers(period, key="poster-1")
    poster = by_code["poster-1"]
    assert (poster.scans, poster.contacts, poster.deletions, poster.orders, poster.gmv_fen) == (
        3,
        1,
        1,
        2,
        10_000,
    )
    assert poster.contact_rate == 1 / 3
    assert by_code["store-1"].contacts == 1
    assert by_touchpoint["spring"].contacts == 2 and by_touchpoint["spring"].scans == 3
    assert list(only) == ["poster-1"] and only["poster-1"].gmv_fen == 10_000
    # One code's numbers come day by day too (its page's chart and CSV).
    assert sum(only["poster-1"].series(period)["scans"]) == 3


def test_a_young_lake_has_no_numbers():
    assert numbers(Period.ending(today(), 7)) == {}
