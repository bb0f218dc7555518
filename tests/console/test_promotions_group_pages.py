"""Group buys and tiered prices in the console: their forms (each refusal named beside its
field), their pages with the live groups, counts, prices and refunds, pause / resume / end, and
both on the promotions overview and its calendar."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from siyu.core.db import unit_of_work
from siyu.customers.service import find_customer
from siyu.events.service import ingest
from siyu.events.sources import internal_source
from siyu.promotions import group_buys, refunds, tiered
from siyu.promotions.models import GroupBuy, TieredPrice
from tests.console_support import csrf_of, error_beside
from tests.helpers import identify


def people(count: int) -> list[int]:
    """Customers c0… named 客户0…"""
    now = datetime.now(UTC)
    with unit_of_work() as s:
        made = [identify(f"c{n}", {"name": f"客户{n}"}) for n in range(count)]
        ingest(s, internal_source(s, "mall"), made, now - timedelta(days=1))
        return [find_customer(s, f"c{n}").id for n in range(count)]


def text_of(html: str, test: str) -> str:
    found = re.search(rf'data-test="{test}"[^>]*>([^<]*)<', html)
    assert found, test
    return found.group(1).strip()


def group_buy(key: str = "tea", robot_fill: bool = False) -> None:
    now = datetime.now(UTC)
    with unit_of_work() as s:
        group_buys.create_group_buy(
            s, key, "三人团茶具", "TEA-SET", 7900, 3, 24, now - timedelta(hours=1),
            now + timedelta(days=2), robot_fill=robot_fill,
        )  # fmt: skip


def tiered_price(key: str = "cooker") -> None:
    now = datetime.now(UTC)
    with unit_of_work() as s:
        tiered.create_tiered(
            s, key, "阶梯价电饭煲", "COOKER-3L", 9900, [(2, 8900), (3, 7900)],
            now - timedelta(hours=1), now + timedelta(days=2),
        )  # fmt: skip


def group_form(csrf: str, **fields) -> dict:
    return {
        "csrf_token": csrf,
        "key": "double12-tea",
        "name": "双十二三人团",
        "product": "TEA-SET",
        "price": "79",
        "size": "3",
        "hours": "24",
        "robot_fill": "1",
        "starts_at": "2026-12-12T20:00",
        "ends_at": "2026-12-14T20:00",
        **fields,
    }


def tiered_form(csrf: str, **fields) -> dict:
    return {
        "csrf_token": csrf,
        "key": "double12-cooker",
        "name": "双十二阶梯价",
        "product": "COOKER-3L",
        "base_price": "99",
        "tiers": "10 = 89\n50：79",
        "starts_at": "2026-12-12T20:00",
        "ends_at": "2026-12-31T20:00",
        **fields,
    }


# -- group buys ------------------------------------------------------------------------------


def test_the_group_buy_form_names_each_refused_field(signed_in):
    client = signed_in("operator")
    csrf = csrf_of(client.get("/promotions/group-buys/new").text)
    bad = client.post(
        "/promotions/group-buys", data=group_form(csrf, price="七十九", size="1", hours="0")
    )
    assert bad.status_code == 400
    assert error_beside(bad.text, "price") == "请输入金额（元），如 99.90"
    assert error_beside(bad.text, "size") and error_beside(bad.text, "hours")
    backwards = client.post(
        "/promotions/group-buys", data=group_form(csrf, ends_at="2026-12-12T19:00")
    )
    assert backwards.status_code == 400
    assert error_beside(backwards.text, "ends_at") == "结束时间须晚于开始时间"
    client.cookies.set("siyu_locale", "en")
    english = client.post("/promotions/group-buys", data=group_form(csrf, key="双十二"))
    assert (
        error_beside(english.text, "key") == "a key is 1-64 lowercase letters, digits, '-' or '_'"
    )
    with unit_of_work() as s:
        assert s.scalar(select(GroupBuy.id)) is None


def test_an_operator_sets_up_a_group_buy_in_the_brands_time(signed_in):
    client = signed_in("operator")
    csrf = csrf_of(client.get("/promotions/group-buys/new").text)
    made = client.post("/promotions/group-buys", data=group_form(csrf), follow_redirects=False)
    assert made.headers["location"] == "/promotions/group-buys/double12-tea?done=created"
    with unit_of_work() as s:
        found = group_buys.find_group_buy(s, "double12-tea")
        assert found.starts_at == datetime(2026, 12, 12, 12, tzinfo=UTC)  # 20:00 in Shanghai
        assert (found.price_fen, found.size, found.hours, found.robot_fill) == (7900, 3, 24, True)
    page = client.get(made.headers["location"]).text
    assert text_of(page, "open") == "0" and 'hx-trigger="every 5s"' in page
    again = client.post("/promotions/group-buys", data=group_form(csrf))
    assert again.status_code == 409 and error_beside(again.text, "key")


def test_the_live_part_shows_open_groups_members_and_refunds(signed_in):
    ids = people(4)
    group_buy("tea")
    now = datetime.now(UTC)
    with unit_of_work() as s:
        full = group_buys.open_group(s, "tea", ids[0], "o-1", 7900, now)
        group_buys.join_group(s, full.code, ids[1], "o-2", 7900, now)
        group_buys.join_group(s, full.code, ids[2], "o-3", 7900, now)
        short = group_buys.open_group(s, "tea", ids[3], "o-4", 7900, now)
        short_code = short.code
    live = signed_in("analyst").get("/promotions/group-buys/tea/live").text
    assert live.startswith('<div id="group-live"')  # the fragment alone, which htmx swaps in
    assert [text_of(live, n) for n in ("open", "succeeded", "failed", "orders")] == [
        "1", "1", "0", "4",
    ]  # fmt: skip
    assert text_of(live, "gmv") == "¥316.00"
    assert text_of(live, "places") == "1 / 3" and "客户3" in live
    assert re.match(r"\d+ 小时 \d+ 分", text_of(live, "time-left"))
    with unit_of_work() as s:  # the short group's time runs out: it fails, its order refunded
        group_buys.close_due(s, now + timedelta(days=2))
        refund = refunds.list_refunds(s)[0]
        refunds.confirm(s, refund.id, "mall-r-1")
    after = signed_in("analyst").get("/promotions/group-buys/tea/live").text
    assert [text_of(after, n) for n in ("open", "failed", "orders")] == ["0", "1", "3"]
    assert text_of(after, "gmv") == "¥237.00"
    assert text_of(after, "refunds-issued") == "1" and text_of(after, "refunds-confirmed") == "1"
    assert 'data-test="closed-group"' in after and short_code not in after


def test_a_group_buy_is_paused_resumed_and_ended(signed_in):
    ids = people(1)
    group_buy("tea")
    client = signed_in("operator")
    csrf = csrf_of(client.get("/promotions/group-buys/tea").text)

    def move(status: str):
        return client.post(
            "/promotions/group-buys/tea/status", data={"csrf_token": csrf, "status": status}
        )

    assert text_of(move("paused").text, "phase") == "已暂停"
    with unit_of_work() as s:  # a paused group buy opens no group
        assert not group_buys.is_live(group_buys.find_group_buy(s, "tea"))
    assert text_of(move("active").text, "phase") == "进行中"
    ended = move("ended")
    assert text_of(ended.text, "phase") == "已结束" and 'data-test="pause"' not in ended.text
    assert move("active").status_code == 409
    bad = client.post("/promotions/group-buys/tea/status", data={"csrf_token": csrf, "status": "x"})
    assert bad.status_code == 400
    assert signed_in("analyst").post("/promotions/group-buys/tea/status").status_code == 403
    with unit_of_work() as s:
        try:
            group_buys.open_group(s, "tea", ids[0], "o-9", 7900)
        except Exception as error:  # noqa: BLE001
            assert getattr(error, "field", None) == "key"
        else:
            raise AssertionError("an ended group buy opened a group")


# -- tiered prices ---------------------------------------------------------------------------


def test_the_tiered_form_names_each_refused_field(signed_in):
    client = signed_in("operator")
    csrf = csrf_of(client.get("/promotions/tiered/new").text)
    bad = client.post("/promotions/tiered", data=tiered_form(csrf, tiers="十人 八十九"))
    assert bad.status_code == 400
    assert error_beside(bad.text, "tiers") == "每档写一行：人数 = 价格，如 10 = 99"
    rising = client.post("/promotions/tiered", data=tiered_form(csrf, tiers="10 = 89\n50 = 95"))
    assert rising.status_code == 400 and error_beside(rising.text, "tiers")
    base = client.post("/promotions/tiered", data=tiered_form(csrf, base_price="0"))
    assert base.status_code == 400 and error_beside(base.text, "base_price")
    with unit_of_work() as s:
        assert s.scalar(select(TieredPrice.id)) is None


def test_an_operator_sets_up_a_tiered_price(signed_in):
    client = signed_in("operator")
    csrf = csrf_of(client.get("/promotions/tiered/new").text)
    made = client.post("/promotions/tiered", data=tiered_form(csrf), follow_redirects=False)
    assert made.headers["location"] == "/promotions/tiered/double12-cooker?done=created"
    with unit_of_work() as s:
        found = tiered.find_tiered(s, "double12-cooker")
        assert (found.base_price_fen, found.tiers) == (9900, [[10, 8900], [50, 7900]])
    page = client.get(made.headers["location"]).text
    assert text_of(page, "phase") == "未开始" and text_of(page, "current-price") == "¥99.00"


def test_the_tiered_page_follows_the_count_and_the_refunds_at_the_close(signed_in):
    ids = people(3)
    tiered_price("cooker")
    with unit_of_work() as s:
        for n, customer in enumerate(ids):
            tiered.join(s, "cooker", customer, f"o-{n}")
    client = signed_in("operator")
    live = client.get("/promotions/tiered/cooker/live").text
    assert text_of(live, "participants") == "3" and text_of(live, "current-price") == "¥79.00"
    assert text_of(live, "paid") == "¥267.00"  # 99 + 89 + 79
    csrf = csrf_of(client.get("/promotions/tiered/cooker").text)
    assert (
        text_of(
            client.post(
                "/promotions/tiered/cooker/status", data={"csrf_token": csrf, "status": "paused"}
            ).text,
            "phase",
        )
        == "已暂停"
    )
    closed = client.post(
        "/promotions/tiered/cooker/status", data={"csrf_token": csrf, "status": "ended"}
    ).text
    assert text_of(closed, "final-price") == "¥79.00"
    assert text_of(closed, "refunds-issued") == "2"  # 20 and 10 back
    assert text_of(closed, "gmv") == "¥237.00" and text_of(closed, "refunds-confirmed") == "0"
    assert 'data-test="pause"' not in closed


# -- the overview ----------------------------------------------------------------------------


def test_the_overview_and_calendar_show_group_buys_and_tiered_prices(signed_in):
    with unit_of_work() as s:
        group_buys.create_group_buy(
            s, "tea", "三人团茶具", "TEA-SET", 7900, 3, 24,
            datetime(2026, 12, 12, 12, tzinfo=UTC), datetime(2026, 12, 13, 12, tzinfo=UTC),
        )  # fmt: skip
        tiered.create_tiered(
            s, "cooker", "阶梯价电饭煲", "COOKER-3L", 9900, [(10, 8900)],
            datetime(2026, 11, 30, 16, tzinfo=UTC), datetime(2026, 12, 31, 16, tzinfo=UTC),
        )  # fmt: skip
    page = signed_in("analyst").get("/promotions?month=2026-12").text
    assert 'data-test="group-buy-row" data-key="tea"' in page
    assert 'data-test="tiered-row" data-key="cooker"' in page
    # Saturday to Sunday the 13th; the month's big one across every week of December
    assert 'style="grid-column: 6 / 8" href="/promotions/group-buys/tea"' in page
    assert page.count('href="/promotions/tiered/cooker" data-test="cal-tiered"') == 5
