"""The home dashboard: numbers from the lake, right against a small brand counted by hand."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from siyu.console.dashboard import DashboardQuery, build_dashboard, today
from siyu.core.db import unit_of_work
from siyu.core.periods import Period
from siyu.core.settings import get_settings
from siyu.customers.models import Identity
from siyu.events.shipper import ship_all
from siyu.snapshots import write_snapshots
from siyu.staff.service import assign_owner
from siyu.touchpoints.service import register
from tests.console_support import csrf_of
from tests.helpers import identify, post_batch, track


def at(days_ago: int, hour: int = 10, minute: int = 0) -> str:
    """A moment on the brand's day `days_ago` days before today, as the client would send it."""
    day = today() - timedelta(days=days_ago)
    return datetime.combine(day, time(hour, minute), get_settings().zone).isoformat()


def scan(user: str | None, code: str, days_ago: int, **fields) -> dict:
    props = {"touchpoint": code}
    return track("QR Code Scanned", user, properties=props, timestamp=at(days_ago), **fields)


def order(user: str, order_id: str, yuan: float, days_ago: int) -> dict:
    props = {"order_id": order_id, "revenue": yuan}
    return track("Order Completed", user, properties=props, timestamp=at(days_ago))


def load_known_brand(client, write_key: str) -> None:
    """A brand small enough to count by hand (today = T, 30-day period = T-29 … T).

    This period:     u1 store T-3 (order ¥100), u2 ad T-10 (order ¥50, ¥20 refunded), u4 no
                     touchpoint T-2, u8 (anonymous store scan T-8 merged into u8, ad scan T-6),
                     u9 official account at 00:30 on T-29 (16:30 UTC the day before); u6, an old
                     customer from T-100, orders ¥30 on T-1; u3 is active on T-5.
    Previous period: u3 official account T-40 (order ¥80), u5 unregistered poster T-45,
                     u10 no touchpoint at 23:30 on T-30.
    """
    with unit_of_work() as session:
        register(session, "store-sh-01", "Jing'an store counter", "store", "owned")
        register(session, "ad-douyin", "Douyin ad", "paid_ad", "paid")
        register(session, "oa-menu", "Official account menu", "official_account", "organic")
    batches = [
        [scan("u1", "store-sh-01", 3), order("u1", "o1", 100, 3)],
        [scan("u2", "ad-douyin", 10), order("u2", "o2", 50, 10)],
        [
            track(
                "Order Refunded",
                "u2",
                properties={"order_id": "o2", "revenue": 20},
                timestamp=at(9),
            )
        ],
        [
            track(
                "Official Account Followed",
                "u3",
                properties={"touchpoint": "oa-menu"},
                timestamp=at(40),
            ),
            order("u3", "o3", 80, 40),
            track("Product Viewed", "u3", timestamp=at(5)),
        ],
        [identify("u4", {"name": "Four"}, timestamp=at(2))],
        [scan("u5", "poster-x", 45)],
        [identify("u6", {"name": "Six"}, timestamp=at(100)), order("u6", "o6", 30, 1)],
        [scan(None, "store-sh-01", 8, anonymousId="anon-8")],
        [scan("u8", "ad-douyin", 6)],
        [{"type": "alias", "userId": "u8", "previousId": "anon-8", "timestamp": at(6, 11)}],
        [{**scan("u9", "oa-menu", 29), "timestamp": at(29, 0, 30)}],
        [identify("u10", {}, timestamp=at(30, 23, 30))],
    ]
    for batch in batches:
        response = post_batch(client, write_key, batch)
        assert response.status_code == 200 and not response.json()["rejected"], response.text


def give(staff_id: int, *user_ids: str) -> None:
    with unit_of_work() as session:
        for user_id in user_ids:
            customer_id = session.scalar(
                select(Identity.customer_id).where(
                    Identity.type == "user_id", Identity.value == user_id
                )
            )
            assign_owner(session, customer_id, staff_id)


def to_lake() -> None:
    ship_all()
    write_snapshots()


def kpis_of(html: str) -> dict[str, str]:
    """KPI name → the value shown on the page."""
    found = re.findall(
        r'data-test="kpi-(\w+)">\s*<div class="label">[^<]*</div>\s*'
        r'<div class="value">([^<]*)</div>',
        html,
    )
    return dict(found)


def charts_of(html: str) -> dict:
    return json.loads(re.search(r"var data = (\{.*?\});\n", html).group(1))


@pytest.fixture
def brand(client, write_key, users):
    load_known_brand(client, write_key)
    give(users["guide_staff_id"], "u1", "u3")
    give(users["other_staff_id"], "u2")
    to_lake()
    return users


def day_index(days_ago: int, period: int = 30) -> int:
    return period - 1 - days_ago


def test_kpis_match_the_brand_counted_by_hand(brand):
    board = build_dashboard(DashboardQuery(Period.ending(today(), 30)))
    k = {name: (c.current, c.previous) for name, c in board.kpis.items()}
    assert k == {
        "new_customers": (5, 3),
        "active_customers": (7, 3),
        "buyers": (3, 1),
        "orders": (3, 1),
        "gmv_fen": (10000 + 3000 + 3000, 8000),
        "average_order_fen": (5333, 8000),
    }
    assert board.kpis["gmv_fen"].delta == 1.0
    assert board.kpis["orders"].direction == "up"
    assert board.kpis["average_order_fen"].direction == "down"


def test_new_customers_are_split_by_touchpoint_group_and_entry_type(brand):
    board = build_dashboard(DashboardQuery(Period.ending(today(), 30)))
    groups = {s.key: (s.change.current, s.change.previous) for s in board.groups}
    # u8's anonymous store scan came first, so the merged customer counts once, for the store.
    assert groups == {
        "store": (2, 0),
        "paid_ad": (1, 0),
        "official_account": (1, 1),
        "none": (1, 1),
        "other": (0, 1),
    }
    entries = {s.key: (s.change.current, s.change.previous) for s in board.entry_types}
    assert entries == {"owned": (2, 1), "paid": (1, 0), "organic": (1, 1), "none": (1, 1)}
    assert board.groups[0].key == "store" and board.groups[0].share == 0.4


def test_days_are_the_brand_days(brand):
    board = build_dashboard(DashboardQuery(Period.ending(today(), 30)))
    assert len(board.days) == 30 and board.days[-1] == today().isoformat()
    # 00:30 in Shanghai on T-29 is the period's first day, though it is the day before in UTC.
    assert board.new_by_group["official_account"][0] == 1
    assert board.new_by_group["store"][day_index(3)] == 1
    assert board.new_by_group["store"][day_index(8)] == 1
    assert sum(board.new_by_group["store"]) == 2
    assert board.gmv_fen[day_index(3)] == 10000
    assert board.gmv_fen[day_index(10)] == 3000
    assert board.gmv_fen[day_index(1)] == 3000
    assert sum(board.orders) == 3
    assert board.previous_gmv_fen[day_index(40 - 30)] == 8000
    assert board.active[0] == 1 and sum(board.active) == 9  # u2 and u8 on two days each


def test_page_shows_the_numbers_and_the_chart_data(brand, signed_in):
    page = signed_in("analyst").get("/?period=30")
    assert page.status_code == 200
    assert kpis_of(page.text) == {
        "new_customers": "5",
        "active_customers": "7",
        "buyers": "3",
        "orders": "3",
        "gmv_fen": "¥160.00",
        "average_order_fen": "¥53.33",
    }
    assert "↑100.0%" in page.text  # GMV against ¥80.00
    charts = charts_of(page.text)
    assert sum(charts["gmv_fen"]) == 16000 and len(charts["days"]) == 30
    by_name = {s["name"]: sum(s["data"]) for s in charts["new_by_group"]}
    assert by_name == {"门店": 2, "付费广告": 1, "公众号": 1, "无触点": 1}
    assert "/static/vendor/echarts.min.js" in page.text


def test_seven_day_period_compares_with_the_seven_days_before(brand):
    board = build_dashboard(DashboardQuery(Period.ending(today(), 7)))
    k = {name: (c.current, c.previous) for name, c in board.kpis.items()}
    # T-6 … T: u1, u4, u8 (first seen T-8, so not new); T-13 … T-7: u2, u8.
    assert k["new_customers"] == (2, 2)
    assert k["orders"] == (2, 1)
    assert k["gmv_fen"] == (13000, 3000)
    assert k["active_customers"] == (5, 2)  # u1 u3 u4 u6 u8 · u2 u8


def test_an_unreadable_period_falls_back_to_the_last_thirty_days(brand, signed_in):
    for query in ("period=12", "period=abc&end=yesterday", "period=-7"):
        page = signed_in("admin").get(f"/?{query}")
        assert page.status_code == 200
        assert kpis_of(page.text)["new_customers"] == "5"
        assert 'class="btn" href="/?period=30"' in page.text


def test_a_chosen_end_day_is_kept_when_the_period_changes(brand, signed_in):
    end = (today() - timedelta(days=3)).isoformat()
    page = signed_in("admin").get(f"/?period=7&end={end}")
    assert f'href="/?period=30&amp;end={end}"' in page.text
    # T-9 … T-3: u1 and u8 (T-8) are new; only o1 was paid (o2 on T-10, refunded on T-9).
    assert kpis_of(page.text)["new_customers"] == "2"
    assert kpis_of(page.text)["gmv_fen"] == "¥100.00"


def test_a_guide_sees_only_the_customers_they_own(brand, signed_in):
    page = signed_in("guide").get("/?period=30")
    assert page.status_code == 200
    assert kpis_of(page.text) == {
        "new_customers": "1",
        "active_customers": "2",
        "buyers": "1",
        "orders": "1",
        "gmv_fen": "¥100.00",
        "average_order_fen": "¥100.00",
    }
    assert 'data-test="guide-notice"' in page.text
    holdings = page.text.split('data-test="holdings"')[1]
    assert "¥180.00" in holdings  # o1 and o3, their orders to date
    assert "¥160.00" not in page.text
    charts = charts_of(page.text)
    assert {s["name"] for s in charts["new_by_group"]} == {"门店"}


def test_a_guide_without_a_staff_record_sees_nothing(brand):
    query = DashboardQuery(Period.ending(today(), 30), owner_id=None, is_guide=True)
    board = build_dashboard(query)
    assert all(c.current == 0 and c.previous == 0 for c in board.kpis.values())


def test_empty_lake_says_what_to_do_next(signed_in):
    page = signed_in("admin").get("/")
    assert page.status_code == 200
    assert 'data-test="empty"' in page.text
    assert "siyu demo" in page.text and "/v1/batch" in page.text
    assert "echarts.init" not in page.text


def test_events_not_yet_shipped_are_mentioned(client, write_key, signed_in):
    post_batch(client, write_key, [scan("u1", "store-sh-01", 1)])
    page = signed_in("operator").get("/")
    assert 'data-test="empty"' in page.text
    assert "siyu lake flush" in page.text


def test_a_period_without_activity_shows_empty_charts(brand, signed_in):
    page = signed_in("admin").get(f"/?period=7&end={date(2020, 1, 31).isoformat()}")
    assert kpis_of(page.text)["new_customers"] == "0"
    assert "本期没有新客户。" in page.text
    assert 'id="chart-new"' not in page.text


def test_chinese_by_default_and_english_after_the_switch(brand, signed_in):
    client = signed_in("admin")
    page = client.get("/")
    assert "新客户" in page.text and "成交额" in page.text
    client.post("/lang", data={"locale": "en", "next": "/", "csrf_token": csrf_of(page.text)})
    english = client.get("/")
    assert "New customers" in english.text and "新客户" not in english.text
    assert {s["name"] for s in charts_of(english.text)["new_by_group"]} >= {"Store", "Paid ad"}


def test_every_role_can_view_and_strangers_are_sent_to_login(brand, client, signed_in):
    for role in ("admin", "operator", "analyst", "guide"):
        assert signed_in(role).get("/").status_code == 200
    client.cookies.clear()
    response = client.get("/?period=7", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/")


def test_the_analytics_section_lists_the_reports_that_are_built(signed_in):
    page = signed_in("analyst").get("/analytics")
    assert page.status_code == 200
    assert 'data-test="section-empty"' not in page.text
    assert page.text.count("data-report=") == 8 and 'href="/reports/funnels"' in page.text
    assert "siyu lake status" in page.text

    guide = signed_in("guide").get("/analytics").text  # no reports for a guide: the pages
    assert "data-report=" not in guide and 'href="/"' in guide


def test_an_analyst_is_told_pages_are_read_only(signed_in):
    assert 'data-test="read-only"' in signed_in("analyst").get("/tags").text
    assert 'data-test="read-only"' not in signed_in("operator").get("/tags").text
