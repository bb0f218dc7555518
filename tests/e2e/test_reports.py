"""Reports in a browser: the brand's orders reach the lake, the GMV page draws its charts in
Chinese and English, another report's filters apply, and the CSV downloads; every report reads
like a report in both languages (counts whole, rates as percents, money grouped, stores and
touchpoints by name with the code on hover, the waterfall coloured by sign); an analyst's pages
are read-only."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from playwright.sync_api import expect
from sqlalchemy import select

from siyu.analytics.registry import REPORTS
from siyu.core import i18n
from siyu.core.audit import acting_as
from siyu.core.auth import create_token
from siyu.core.db import unit_of_work
from siyu.staff.models import Store
from siyu.staff.service import assign_owner, create_staff, create_store
from siyu.touchpoints.service import register
from siyu.users import service as user_service
from siyu.users.models import User
from tests.e2e.conftest import CUSTOMERS


def _orders_in_the_lake(brand) -> None:
    """Two orders a day for the brand's customers, sent through the tracking API and shipped."""
    now = datetime.now(UTC).replace(microsecond=0)
    batch = []
    for n, (uid, *_rest) in enumerate(CUSTOMERS):
        for days in (1, 9):
            at = now - timedelta(days=days, hours=n)
            batch.append(
                {
                    "type": "track",
                    "event": "Order Completed",
                    "userId": uid,
                    "messageId": f"e2e-report-{uid}-{days}",
                    "timestamp": at.isoformat(),
                    "properties": {
                        "order_id": f"r-{uid}-{days}",
                        "revenue": 30 + n,
                        "touchpoint": "poster-e2e",
                    },
                }
            )
    answer = httpx.post(f"{brand.url}/v1/batch", json={"batch": batch}, auth=(brand.write_key, ""))
    assert answer.status_code == 200, answer.text
    with unit_of_work(brand.database) as s:
        _, token = create_token(s, "e2e-reports", "analyst")
    query = {
        "period": {
            "start": (now - timedelta(days=20)).date().isoformat(),
            "end": now.date().isoformat(),
        }
    }
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:  # the server's shipper writes the lake and its snapshots
        answer = httpx.post(
            f"{brand.url}/api/reports/gmv", json=query, headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 200, answer.text
        if answer.json()["total"]["current"]["orders"] >= 8:
            return
        time.sleep(1)
    raise AssertionError("the orders never reached the lake")


def test_reports_draw_charts_in_both_languages_and_export_csv(console, brand):
    _orders_in_the_lake(brand)
    console.sign_in(brand.admin)

    console.open("/reports")
    expect(console.page.locator("[data-report]")).to_have_count(8)
    console.page.click("[data-report=gmv]")
    console.page.wait_for_url("**/reports/gmv")
    assert "GMV 拆解" in console.page.inner_text("h1")
    expect(console.page.locator("[data-test=chart] canvas").first).to_be_visible()
    table = console.page.inner_text("[data-test=report-table]")
    header, *rows = (line.split("\t") for line in table.splitlines())
    everyone = next(row for row in rows if row[0] == "全部")
    # yesterday's 8 orders sent above are in (other flows share the brand and add their own)
    assert int(everyone[header.index("订单")].replace(",", "")) >= 8
    console.shot("gmv-zh")

    console.submit("[data-test=lang-switch]", "gmv-en")
    assert console.lang == "en" and "GMV decomposition" in console.page.inner_text("h1")

    console.open("/reports/retention?unit=week&periods=4")
    expect(console.page.locator("[data-test=chart]")).to_have_count(2)
    expect(console.page.locator("[data-test=chart] canvas").last).to_be_visible()
    assert "Cohort" in console.page.inner_text("[data-test=report-table]")
    console.open("/reports/funnels?template=aarrr")
    expect(console.page.locator("[data-test=chart] canvas").first).to_be_visible()

    console.open("/reports/gmv")
    with console.page.expect_download() as download:
        console.page.click("[data-test=csv]")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert text.startswith("Breakdown,Visitors,Buyers,Orders")


# How each column of a report's table reads, by its English header (the Chinese ones are their
# translations): counts whole and grouped, rates and ROI as percents, money grouped with fen.
COUNTS = {
    "Visitors", "Buyers", "Orders", "Customers", "Conversions", "Quantity", "New customers",
    "Lost customers", "Messages sent", "Tasks assigned", "Tasks executed", "Repeat purchases",
}  # fmt: skip
RATES = {"Conversion", "Share", "ROI", "Execution rate", "Probability alive"}
COUNT = re.compile(r"\d{1,3}(,\d{3})*")
PERCENT = re.compile(r"-?\d+(\.\d)?%")
MONEY = re.compile(r"-?\d{1,3}(,\d{3})*\.\d\d")
STEP = re.compile(r"\d{1,3}(,\d{3})* \(\d+\.\d%\)")  # a funnel's customers and their share
STORE_CODE, STORE_NAME = "e2e-reports-store", "山茶·测试店"
POSTER_NAME = "双11测试海报"


def _names_and_a_store(brand) -> int:
    """The poster the orders came through gets a name; guide 张's customers, a store."""
    with acting_as("e2e"), unit_of_work(brand.database) as s:
        register(s, "poster-e2e", POSTER_NAME, "poster")
        store = s.scalar(select(Store).where(Store.code == STORE_CODE))
        store = store or create_store(s, STORE_CODE, STORE_NAME)
        zhang = create_staff(s, "张导购", store_id=store.id, wecom_userid="zhang")
        for uid, *_rest, owner in CUSTOMERS:
            if owner == "zhang":
                assign_owner(s, brand.customers[uid], zhang.id)
        return store.id


def _store_in_the_lake(brand, store_id: int) -> None:
    with unit_of_work(brand.database) as s:
        _, token = create_token(s, "e2e-reports-store", "analyst")
    day = datetime.now(UTC).date()
    query = {"period": {"start": str(day - timedelta(days=20)), "end": str(day)}}
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:  # the shipper rewrites the customers snapshot
        answer = httpx.post(
            f"{brand.url}/api/reports/gmv",
            json=query | {"breakdown": "store"},
            headers={"Authorization": f"Bearer {token}"},
        )
        if str(store_id) in {row["key"] for row in answer.json()["rows"]}:
            return
        time.sleep(1)
    raise AssertionError("the customers' store never reached the lake")


def _check_table(console, lang: str) -> int:
    """Every cell of the report's table reads as its column says; returns the rows checked."""
    english = {i18n.translations(lang).gettext(h): h for h in COUNTS | RATES}
    headers = console.page.locator("[data-test=report-table] thead th").all_inner_texts()
    rows = console.page.locator("[data-test=report-table] tbody tr").all()
    checked = 0
    for row in rows:
        cells = row.locator("td").all_inner_texts()
        if len(cells) != len(headers):
            continue  # "nothing in this period"
        checked += 1
        for header, cell in zip(headers[1:], cells[1:], strict=True):
            name = english.get(header, header)
            if not cell.strip():
                continue
            if "/reports/funnels" in console.page.url:
                assert STEP.fullmatch(cell), (header, cell)
            elif name in COUNTS:
                assert COUNT.fullmatch(cell), (header, cell)
            elif name in RATES or header.startswith("+"):
                assert PERCENT.fullmatch(cell), (header, cell)
            elif "(yuan)" in header or "（元）" in header:
                assert MONEY.fullmatch(cell), (header, cell)
    return checked


def _chart_options(console) -> dict[str, dict]:
    """Each chart's ECharts option as drawn, by its card's title."""
    return console.page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('[data-test=chart]')].map(
            el => [el.parentElement.querySelector('h2').innerText,
                   echarts.getInstanceByDom(el).getOption()]))"""
    )


def _check_waterfall(console) -> None:
    waterfall = next(iter(_chart_options(console).values()))
    bars = waterfall["series"][1]["data"]
    assert bars[0]["itemStyle"]["color"] == bars[-1]["itemStyle"]["color"]  # the two totals
    for bar in bars[1:-1]:
        rose = bar["label"]["formatter"].startswith("+")
        assert bar["itemStyle"]["color"] == ("#2e9e5b" if rose else "#d9534f"), bar


def test_every_report_reads_like_a_report_in_both_languages(console, brand):
    _orders_in_the_lake(brand)
    store_id = _names_and_a_store(brand)
    _store_in_the_lake(brand, store_id)
    console.sign_in(brand.admin)

    for lang in ("zh-CN", "en"):
        if console.lang != lang:
            console.submit("[data-test=lang-switch]", f"switched-to-{lang}")
        for kind in REPORTS:
            console.open(f"/reports/{kind}")
            expect(console.page.locator("[data-test=problem]")).to_have_count(0)
            checked = _check_table(console, lang)
            assert checked or kind in ("goods", "ltv", "funnels", "retention"), kind
            for title, option in _chart_options(console).items():
                if title in ("转化耗时", "Time to convert"):  # drawn only when someone converted
                    assert sum(option["series"][0]["data"]) > 0
        console.open("/reports/gmv")
        _check_waterfall(console)
        console.open("/reports/gmv?breakdown=store")
        assert _check_table(console, lang) >= 2
        store = console.page.locator(f"[data-test=named][title={STORE_CODE}]")
        expect(store).to_have_text(STORE_NAME)
        console.open("/reports/attribution")
        assert _check_table(console, lang) >= 1
        poster = console.page.locator("[data-test=named][title=poster-e2e]")
        expect(poster).to_have_text(POSTER_NAME)


def test_an_analyst_sees_pages_read_only(console, brand):
    with acting_as("e2e"), unit_of_work(brand.database) as s, pytest.MonkeyPatch.context() as p:
        p.setattr(user_service, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
        if s.scalar(select(User).where(User.email == "analyst@brand.cn")) is None:
            user_service.create_user(s, "analyst@brand.cn", brand.password, "analyst", "分析师小李")
    console.sign_in("analyst@brand.cn")

    for path in ("/tags", "/staff", "/codes", "/segments/list", "/imports", "/tasks", "/wecom"):
        console.open(path)
        expect(console.page.locator("[data-test=read-only]")).to_be_visible()
        forms = console.page.locator("form[method=post]:visible")
        actions = [forms.nth(i).get_attribute("action") for i in range(forms.count())]
        assert set(actions) <= {"/lang", "/logout"}, (path, actions)
