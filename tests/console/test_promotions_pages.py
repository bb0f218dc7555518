"""Promotions in the console: the overview with its numbers and calendar, a coupon template's
form, page and issuing, a flash sale's form and live stock; what staff may do and guides may not
see; every refusal named beside its field, in Chinese and in English."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from siyu.console.pages import promotions_calendar as calendar
from siyu.core.db import unit_of_work
from siyu.customers.service import find_customer
from siyu.events.service import ingest
from siyu.events.sources import internal_source
from siyu.promotions import flash
from siyu.promotions import service as promotions
from siyu.promotions.models import CouponTemplate, FlashSale
from siyu.segments.models import SegmentMember
from siyu.segments.service import create_segment
from tests.console_support import csrf_of, error_beside
from tests.helpers import identify

NOW = datetime(2026, 12, 1, 4, tzinfo=UTC)


def people(count: int) -> list[int]:
    """Customers c0… with names and phones 1390000xxxx; the first two in segment `vip`."""
    with unit_of_work() as s:
        made = [
            identify(f"c{n}", {"phone": f"1390000{n:04d}", "name": f"客户{n}"})
            for n in range(count)
        ]
        ingest(s, internal_source(s, "mall"), made, NOW - timedelta(days=1))
        ids = [find_customer(s, f"c{n}").id for n in range(count)]
        segment = create_segment(s, "vip", "VIP 会员", {"tag": "VIP"})
        s.add_all(
            SegmentMember(segment_id=segment.id, customer_id=c, entered_at=NOW) for c in ids[:2]
        )
        segment.refreshed_at, segment.member_count = NOW, 2
    return ids


def template(key: str = "fan-20", **rules) -> None:
    rules = {"kind": "amount", "amount_fen": 2000, "valid_days": 30} | rules
    with unit_of_work() as s:
        promotions.create_template(s, key, "粉丝券 20 元", rules.pop("kind"), **rules)


def sale(key: str = "cup", stock: int = 10, starts_in: timedelta = timedelta(hours=-1)) -> None:
    now = datetime.now(UTC)
    with unit_of_work() as s:
        flash.create_sale(
            s,
            key,
            "双十二保温杯",
            "CUP-500",
            9900,
            stock,
            2,
            now + starts_in,
            now + timedelta(days=1),
        )


def coupon_form(csrf: str, **fields) -> dict:
    return {
        "csrf_token": csrf,
        "key": "double12",
        "name": "双十二满减",
        "kind": "threshold",
        "amount": "50",
        "threshold": "300",
        "valid_days": "30",
        "per_customer": "1",
        "returnable": "1",
        **fields,
    }


def flash_form(csrf: str, **fields) -> dict:
    return {
        "csrf_token": csrf,
        "key": "double12-cup",
        "name": "双十二保温杯",
        "product": "CUP-500",
        "price": "99",
        "list_price": "199",
        "stock": "500",
        "per_customer": "2",
        "starts_at": "2026-12-12T20:00",
        "ends_at": "2026-12-12T22:00",
        "hold_minutes": "15",
        **fields,
    }


def text_of(html: str, test: str) -> str:
    found = re.search(rf'data-test="{test}"[^>]*>([^<]*)<', html)
    assert found, test
    return found.group(1).strip()


# -- who may see what ------------------------------------------------------------------------


def test_a_newcomer_is_told_what_to_do_and_an_analyst_sees_no_forms(signed_in):
    page = signed_in("operator").get("/promotions")
    assert page.status_code == 200
    assert 'data-test="empty"' in page.text
    assert "siyu tokens create --name mall --role mall" in page.text
    assert 'href="/promotions/coupons/new"' in page.text
    assert 'href="/promotions/flash-sales/new"' in page.text
    analyst = signed_in("analyst").get("/promotions")
    assert analyst.status_code == 200 and 'data-test="empty"' in analyst.text
    assert 'href="/promotions/coupons/new"' not in analyst.text
    assert signed_in("analyst").get("/promotions/coupons/new").status_code == 403


@pytest.mark.parametrize("role", ["admin", "operator", "analyst", "guide"])
def test_staff_open_every_promotions_page_and_guides_none(signed_in, role):
    people(1)
    template()
    sale()
    client = signed_in(role)
    paths = [
        "/promotions",
        "/promotions/coupons/fan-20",
        "/promotions/flash-sales/cup",
        "/promotions/flash-sales/cup/live",
    ]
    want = 403 if role == "guide" else 200
    assert {p: client.get(p).status_code for p in paths} == dict.fromkeys(paths, want)
    assert ('href="/promotions"' in client.get("/").text) is (role != "guide")


def test_an_unknown_template_or_sale_is_a_404(signed_in):
    client = signed_in("admin")
    assert client.get("/promotions/coupons/nothing").status_code == 404
    assert client.get("/promotions/flash-sales/nothing").status_code == 404


# -- coupon templates ------------------------------------------------------------------------


def test_the_coupon_form_names_each_refused_field_in_the_users_language(signed_in):
    client = signed_in("operator")
    csrf = csrf_of(client.get("/promotions/coupons/new").text)
    bad = client.post(
        "/promotions/coupons", data=coupon_form(csrf, amount="五十", per_customer="0")
    )
    assert bad.status_code == 400
    assert error_beside(bad.text, "amount") == "请输入金额（元），如 99.90"
    assert error_beside(bad.text, "per_customer") == "不能小于 1"
    assert 'value="五十"' in bad.text  # what was typed comes back
    # The service's rules, named beside their fields too.
    under = client.post("/promotions/coupons", data=coupon_form(csrf, threshold="30"))
    assert error_beside(under.text, "threshold") == "满减券的门槛须高于优惠金额"
    key = client.post("/promotions/coupons", data=coupon_form(csrf, key="Double 12"))
    assert error_beside(key.text, "key") == "标识为 1-64 位小写字母、数字、“-”或“_”"
    no_end = client.post("/promotions/coupons", data=coupon_form(csrf, valid_days=""))
    assert error_beside(no_end.text, "valid_until") == "请填写截止日期，或领取后有效天数"
    client.cookies.set("siyu_locale", "en")
    english = client.post("/promotions/coupons", data=coupon_form(csrf, amount="1.234"))
    assert error_beside(english.text, "amount") == "enter yuan with at most two decimals"
    with unit_of_work() as s:
        assert s.scalar(select(CouponTemplate.id)) is None


def test_an_operator_writes_a_template_and_its_page_shows_the_rules(signed_in):
    client = signed_in("operator")
    csrf = csrf_of(client.get("/promotions/coupons/new").text)
    form = coupon_form(csrf, valid_until="2026-12-31", stock="100", stores="SH01，BJ02")
    made = client.post("/promotions/coupons", data=form, follow_redirects=False)
    assert made.status_code == 303
    assert made.headers["location"] == "/promotions/coupons/double12?done=created"
    with unit_of_work() as s:
        t = promotions.find_template(s, "double12")
        assert (t.kind, t.amount_fen, t.threshold_fen, t.stock) == ("threshold", 5000, 30000, 100)
        assert t.stores == ["BJ02", "SH01"] and t.returnable and not t.stacks
        # valid until the whole of Dec 31 in Shanghai
        assert t.valid_until == datetime(2026, 12, 31, 15, 59, 59, tzinfo=UTC)
    page = client.get(made.headers["location"])
    assert text_of(page.text, "value") == "满 ¥300.00 减 ¥50.00"
    assert 'data-test="done"' in page.text and 'data-test="no-chart"' in page.text
    assert "2026年12月31日" in page.text and "BJ02、SH01" in page.text


def test_the_numbers_shown_are_the_services(client, write_key, signed_in):
    ids = people(3)
    template("fan-20", kind="threshold", amount_fen=2000, threshold_fen=10000)
    with unit_of_work() as s:
        codes = [c.code for c in promotions.issue(s, "fan-20", ids, now=NOW).coupons]
    sent = client.post(
        "/v1/track",
        auth=(write_key, ""),
        json={
            "userId": "c0",
            "event": "Order Completed",
            "properties": {"order_id": "mall-1", "revenue": 328, "coupon": codes[0]},
        },
    )
    assert sent.status_code == 200
    with unit_of_work() as s:
        stats = promotions.stats(s, [promotions.find_template(s, "fan-20").id])
    (numbers,) = stats.values()
    assert (numbers.issued, numbers.redeemed, numbers.discount_fen, numbers.order_fen) == (
        3,
        1,
        2000,
        32800,
    )
    page = signed_in("analyst").get("/promotions/coupons/fan-20").text
    shown = {name: text_of(page, name) for name in ("issued", "redeemed", "rate", "cost", "gmv")}
    assert shown == {
        "issued": "3",
        "redeemed": "1",
        "rate": "33.3%",
        "cost": "¥20.00",
        "gmv": "¥328.00",
    }
    overview = signed_in("analyst").get("/promotions").text
    row = overview.split('data-key="fan-20"', 1)[1].split("</tr>", 1)[0]
    assert [text_of(row, n) for n in ("issued", "redeemed", "rate", "cost", "gmv")] == list(
        shown.values()
    )
    assert 'data-test="coupon-chart"' in page


def test_issuing_to_a_segment_and_a_list_says_how_many_and_who_was_passed_over(signed_in):
    ids = people(4)
    template("fan-20", stock=3)
    client = signed_in("operator")
    csrf = csrf_of(client.get("/promotions/coupons/fan-20").text)
    to_vip = client.post(
        "/promotions/coupons/fan-20/issue",
        data={"csrf_token": csrf, "audience": "segment", "segment": "vip"},
    )
    assert to_vip.status_code == 200
    assert "共 2 位，已发放 2 张。" in to_vip.text
    # c0 holds one already (the limit), one coupon is left for c2 and c3, one phone is nobody's.
    pasted = f"{ids[0]}\n{ids[2]}, 13900000003\n13999999999"
    to_list = client.post(
        "/promotions/coupons/fan-20/issue",
        data={"csrf_token": csrf, "audience": "list", "customers": pasted},
    )
    assert "共 4 位，已发放 1 张。" in to_list.text
    assert text_of(to_list.text, "skipped-limit") == "1 位未发放：已达每人限领张数"
    assert text_of(to_list.text, "skipped-out_of_stock") == "1 位未发放：库存不足"
    assert "1 条未找到对应客户： 13999999999" in to_list.text
    with unit_of_work() as s:
        assert (
            promotions.stats(s, [promotions.find_template(s, "fan-20").id]).popitem()[1].issued == 3
        )


def test_issuing_names_a_missing_audience_and_a_paused_template(signed_in):
    people(1)
    template("fan-20")
    client = signed_in("operator")
    csrf = csrf_of(client.get("/promotions/coupons/fan-20").text)
    nobody = client.post(
        "/promotions/coupons/fan-20/issue", data={"csrf_token": csrf, "audience": "list"}
    )
    assert nobody.status_code == 400
    assert error_beside(nobody.text, "customers") == "请粘贴客户 ID 或手机号"
    unknown = client.post(
        "/promotions/coupons/fan-20/issue",
        data={"csrf_token": csrf, "audience": "segment", "segment": "gone"},
    )
    assert unknown.status_code == 404 and error_beside(unknown.text, "segment")
    paused = client.post(
        "/promotions/coupons/fan-20/status",
        data={"csrf_token": csrf, "status": "paused"},
        follow_redirects=False,
    )
    assert paused.headers["location"] == "/promotions/coupons/fan-20?done=paused"
    refused = client.post(
        "/promotions/coupons/fan-20/issue",
        data={"csrf_token": csrf, "audience": "segment", "segment": "vip"},
    )
    assert refused.status_code == 409 and "此券模板已暂停或已结束" in refused.text


def test_a_template_is_paused_resumed_and_ended_for_good(signed_in):
    template("fan-20")
    client = signed_in("operator")
    csrf = csrf_of(client.get("/promotions/coupons/fan-20").text)

    def move(status: str):
        data = {"csrf_token": csrf, "status": status}
        return client.post("/promotions/coupons/fan-20/status", data=data)

    assert text_of(move("paused").text, "status") == "已暂停"
    assert text_of(move("active").text, "status") == "发放中"
    ended = move("ended").text
    assert text_of(ended, "status") == "已结束" and 'data-test="resume"' not in ended
    again = move("active")
    assert again.status_code == 409 and "已结束的券模板不能重新启用" in again.text


def test_the_chart_counts_coupons_issued_and_redeemed_per_day_of_the_brand():
    ids = people(3)
    template("fan-20")
    late = datetime(2026, 12, 1, 17, tzinfo=UTC)  # 01:00 on Dec 2 in Shanghai
    with unit_of_work() as s:
        promotions.issue(s, "fan-20", ids[:2], now=NOW)
        code = promotions.issue(s, "fan-20", ids[2:], now=late).coupons[0].code
        promotions.redeem(s, code, "o-1", 10_000, now=late + timedelta(days=1))
    with unit_of_work() as s:
        chart = promotions.daily_coupons(s, promotions.find_template(s, "fan-20"))
    pairs = zip(chart["issued"], chart["redeemed"], strict=True)
    by_day = dict(zip(chart["days"], pairs, strict=True))
    assert by_day["2026-12-01"] == (2, 0)
    assert by_day["2026-12-02"] == (1, 0)
    assert by_day["2026-12-03"] == (0, 1)
    assert chart["days"][0] == "2026-12-01"


# -- flash sales -----------------------------------------------------------------------------


def test_the_flash_sale_form_names_each_refused_field(signed_in):
    client = signed_in("operator")
    csrf = csrf_of(client.get("/promotions/flash-sales/new").text)
    bad = client.post(
        "/promotions/flash-sales",
        data=flash_form(csrf, price="九十九", stock="0", starts_at="明天"),
    )
    assert bad.status_code == 400
    assert error_beside(bad.text, "price") == "请输入金额（元），如 99.90"
    assert error_beside(bad.text, "starts_at") == "请输入日期和时间"
    assert error_beside(bad.text, "stock")
    backwards = client.post(
        "/promotions/flash-sales", data=flash_form(csrf, ends_at="2026-12-12T19:00")
    )
    assert error_beside(backwards.text, "ends_at") == "结束时间须晚于开始时间"
    client.cookies.set("siyu_locale", "en")
    english = client.post("/promotions/flash-sales", data=flash_form(csrf, key="双十二"))
    assert (
        error_beside(english.text, "key") == "a key is 1-64 lowercase letters, digits, '-' or '_'"
    )
    with unit_of_work() as s:
        assert s.scalar(select(FlashSale.id)) is None


def test_an_operator_sets_up_a_flash_sale_in_the_brands_time(signed_in):
    client = signed_in("operator")
    csrf = csrf_of(client.get("/promotions/flash-sales/new").text)
    made = client.post("/promotions/flash-sales", data=flash_form(csrf), follow_redirects=False)
    assert made.headers["location"] == "/promotions/flash-sales/double12-cup?done=created"
    with unit_of_work() as s:
        found = flash.find_sale(s, "double12-cup")
        assert found.starts_at == datetime(2026, 12, 12, 12, tzinfo=UTC)  # 20:00 in Shanghai
        assert (found.price_fen, found.list_price_fen, found.stock) == (9900, 19900, 500)
    page = client.get(made.headers["location"]).text
    assert text_of(page, "phase") == "未开始"
    assert (text_of(page, "available"), text_of(page, "held")) == ("500", "0")
    assert 'hx-trigger="every 5s"' in page


def test_the_live_stock_follows_reservations_and_the_waiting_list(signed_in):
    ids = people(3)
    sale("cup", stock=2)
    with unit_of_work() as s:
        flash.reserve(s, "cup", ids[0], 2)
        flash.join_waitlist(s, "cup", ids[1], 1)
    live = signed_in("analyst").get("/promotions/flash-sales/cup/live").text
    assert live.startswith('<div id="flash-live"')  # the fragment alone, which htmx swaps in
    assert [text_of(live, n) for n in ("held", "sold", "available", "waiting")] == [
        "2",
        "0",
        "0",
        "1",
    ]
    assert "客户0" in live and "13900000000" in live and 'data-test="reservation"' in live
    with unit_of_work() as s:
        summary = flash.summary(flash.find_sale(s, "cup"))
    assert (summary["held"], summary["available"]) == (2, 0)


def test_a_flash_sale_is_paused_resumed_and_ended(signed_in):
    sale("cup")
    client = signed_in("operator")
    csrf = csrf_of(client.get("/promotions/flash-sales/cup").text)

    def move(status: str):
        data = {"csrf_token": csrf, "status": status}
        return client.post("/promotions/flash-sales/cup/status", data=data)

    assert text_of(move("paused").text, "phase") == "已暂停"
    assert text_of(move("active").text, "phase") == "进行中"
    ended = move("ended")
    assert text_of(ended.text, "phase") == "已结束" and 'data-test="pause"' not in ended.text
    assert move("active").status_code == 409
    assert signed_in("analyst").post("/promotions/flash-sales/cup/status").status_code == 403


# -- the overview ----------------------------------------------------------------------------


def test_the_overview_lists_both_and_the_calendar_shows_them_in_their_weeks(signed_in):
    template("fan-20", valid_days=None, valid_until=datetime(2026, 12, 20, 15, 59, tzinfo=UTC))
    with unit_of_work() as s:
        flash.create_sale(
            s,
            "cup",
            "双十二保温杯",
            "CUP-500",
            9900,
            10,
            1,
            datetime(2026, 12, 12, 12, tzinfo=UTC),
            datetime(2026, 12, 12, 14, tzinfo=UTC),
            list_price_fen=19900,
        )
    page = signed_in("analyst").get("/promotions?month=2026-12").text
    assert 'data-test="template-row"' in page and 'data-test="sale-row"' in page
    assert "2026 年 12 月" in page and 'href="/promotions?month=2026-11"' in page
    assert page.count('data-test="week"') == 5  # Nov 30 to Jan 3, Monday first
    # The sale is one bar on Saturday Dec 12; the template runs from its making to Dec 20.
    assert 'style="grid-column: 6 / 7" href="/promotions/flash-sales/cup"' in page
    assert '"/promotions/coupons/fan-20"' in page


def test_the_calendar_cuts_each_activity_to_its_weeks():
    december = date(2026, 12, 1)
    long = calendar.Activity("coupon", "x", "X", date(2026, 11, 25), date(2026, 12, 9), "active")
    open_ended = calendar.Activity("coupon", "y", "Y", date(2026, 12, 30), None, "active")
    weeks = calendar.weeks(december, [long, open_ended])
    assert [w.days[0] for w in weeks] == [
        date(2026, 11, 30),
        date(2026, 12, 7),
        date(2026, 12, 14),
        date(2026, 12, 21),
        date(2026, 12, 28),
    ]
    first, second = weeks[0].bars[0], weeks[1].bars[0]
    assert (first.start, first.end, first.goes_on_before, first.goes_on_after) == (1, 7, True, True)
    assert (second.start, second.end, second.goes_on_after) == (1, 3, False)
    last = weeks[4].bars[0]
    assert (last.activity.key, last.start, last.end, last.goes_on_after) == ("y", 3, 7, True)
    assert calendar.month_of("2026-13", date(2026, 5, 3)) == date(2026, 5, 1)
    assert calendar.shifted(december, 1) == date(2027, 1, 1)


def test_the_chart_data_is_json_the_page_embeds(signed_in):
    ids = people(1)
    template("fan-20")
    with unit_of_work() as s:
        promotions.issue(s, "fan-20", ids, now=datetime.now(UTC))
    page = signed_in("admin").get("/promotions/coupons/fan-20").text
    data = json.loads(re.search(r"var data = (\{.*?\});", page).group(1))
    assert sum(data["issued"]) == 1 and sum(data["redeemed"]) == 0
