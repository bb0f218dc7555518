"""Each number means one thing: the home page and the touchpoints page show what the GMV report
says for the same period and filters (orders, buyers, GMV, average order value, visitors)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from siyu.analytics import gmv, runner
from siyu.console.dashboard import today
from siyu.core.i18n import money
from siyu.core.periods import Period
from tests.console.test_dashboard import at, give, kpis_of, load_known_brand, to_lake
from tests.helpers import post_batch, track


@pytest.fixture
def brand(client, write_key, users):
    """The dashboard's hand-counted brand (a partly refunded order, a merged customer, an order
    from an old customer), and what made the pages disagree with the report: an order refunded
    in full, and a message the brand sent to a customer who did nothing. A guide owns u1 and u3."""
    load_known_brand(client, write_key)
    refunded = {"order_id": "o7", "revenue": 40}
    batch = [
        track("Order Completed", "u6", properties=refunded, timestamp=at(4)),
        track("Order Refunded", "u6", properties={"order_id": "o7"}, timestamp=at(3)),
        track("Message Sent", "u5", properties={"channel": "sms"}, timestamp=at(2)),
    ]
    assert post_batch(client, write_key, batch).status_code == 200
    give(users["guide_staff_id"], "u1", "u3")
    to_lake()
    return users


def gmv_report(days: int, breakdown: str | None = None, **filters) -> gmv.Result:
    period = Period.ending(today(), days)
    dates = {"start": period.start, "end": period.end}
    return runner.run(gmv, gmv.Query(period=dates, breakdown=breakdown, filters=filters)).result


def shown(total: gmv.Row) -> dict[str, str]:
    """The GMV report's numbers as the home page prints them."""
    now = total.current
    average = round(now.gmv_fen / now.orders) if now.orders else 0
    return {
        "active_customers": str(now.visitors),
        "buyers": str(now.buyers),
        "orders": str(now.orders),
        "gmv_fen": money(now.gmv_fen, "zh-CN"),
        "average_order_fen": money(average, "zh-CN"),
    }


@pytest.mark.parametrize("days", [7, 30, 90])
def test_the_home_page_shows_the_gmv_reports_numbers(brand, signed_in, days):
    page = kpis_of(signed_in("analyst").get(f"/?period={days}").text)

    expected = shown(gmv_report(days).total)
    assert {name: page[name] for name in expected} == expected
    assert expected["orders"] != "0"


def test_a_guides_home_page_is_the_report_over_their_customers(brand, signed_in):
    page = kpis_of(signed_in("guide").get("/?period=30").text)

    expected = shown(gmv_report(30, guide=[brand["guide_staff_id"]]).total)
    assert {name: page[name] for name in expected} == expected
    assert expected["gmv_fen"] == "¥100.00"


def test_the_touchpoints_page_shows_the_reports_orders_and_gmv(brand, signed_in):
    text = signed_in("analyst").get("/touchpoints.csv?period=30").content.decode("utf-8-sig")
    rows = {row[0]: row for row in list(csv.reader(io.StringIO(text)))[1:]}

    by_touchpoint = {row.key: row.current for row in gmv_report(30, "touchpoint").rows}
    for code in ("store-sh-01", "ad-douyin"):
        orders, gmv_yuan = rows[code][-2:]
        numbers = by_touchpoint[code]
        assert (int(orders), Decimal(gmv_yuan)) == (numbers.orders, Decimal(numbers.gmv_fen) / 100)
