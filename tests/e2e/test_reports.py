"""Reports in a browser: the brand's orders reach the lake, the GMV page draws its charts in
Chinese and English, another report's filters apply, and the CSV downloads."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from playwright.sync_api import expect

from siyu.core.auth import create_token
from siyu.core.db import unit_of_work
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
    assert "全部" in table and "8" in table
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
