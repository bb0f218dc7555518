"""A brand with no WeCom sets up in the browser: a store, two guides, 100 customers of a segment
given to a guide, one customer moved to the other, and a store code that a phone scans."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from siyu.core.audit import acting_as
from siyu.core.db import session_factory, unit_of_work
from siyu.customers.service import find_customer
from siyu.events import inbox
from siyu.segments.models import SegmentMember
from siyu.segments.service import create_segment
from siyu.staff.models import Staff

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) MicroMessenger/8.0.44"
ENGLISH_ON_THESE_PAGES = ("Assign", "Stores", "Moved", "Guides", "Open a store", "Skipped")


def _segment_of_100(brand, key: str) -> None:
    """100 new customers through the tracking API, and a segment that holds them all."""
    batch = [
        {
            "type": "identify",
            "userId": f"{key}-{n}",
            "messageId": f"{key}-{n}",
            "traits": {"name": f"顾客{n}"},
        }
        for n in range(100)
    ]
    answer = httpx.post(f"{brand.url}/v1/batch", json={"batch": batch}, auth=(brand.write_key, ""))
    assert answer.status_code == 200, answer.text
    inbox.process_all(session_factory(brand.database))
    now = datetime.now(UTC)
    with acting_as("e2e"), unit_of_work(brand.database) as s:
        segment = create_segment(s, key, f"新客 {key}", {"tag": "新客"})
        ids = [find_customer(s, f"{key}-{n}").id for n in range(100)]
        s.add_all(SegmentMember(segment_id=segment.id, customer_id=c, entered_at=now) for c in ids)
        segment.refreshed_at, segment.member_count = now, len(ids)


def _staff_id(brand, name: str) -> int:
    with unit_of_work(brand.database) as s:
        return s.scalars(select(Staff.id).where(Staff.name == name)).one()


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_a_brand_without_wecom_sets_up_stores_guides_and_assigns_a_segment(
    console, brand, language
):
    page = console.page
    suffix = "zh" if language == "zh-CN" else "en"
    store_code, segment_key = f"e2e-{suffix}", f"e2e-new-{suffix}"
    first, second = f"导购甲{suffix}", f"导购乙{suffix}"
    _segment_of_100(brand, segment_key)
    console.sign_in(brand.admin)
    if language == "en":
        console.submit("[data-test=lang-switch]", "english")
    assert console.lang == language

    # A store, opened on the stores tab; the same code again is refused beside its field.
    console.open("/staff/stores")
    page.fill("#st-code", store_code)
    page.fill("#st-name", f"五一广场店 {suffix}")
    page.fill("#st-city", "长沙")
    console.submit("[data-test=add-store-submit]", "store-opened")
    expect(page.locator("[data-test=added]")).to_be_visible()
    page.fill("#st-code", store_code)
    page.fill("#st-name", "again")
    console.submit("[data-test=add-store-submit]", "store-refused")
    expect(page.locator("[data-error-for=code]")).to_be_visible()

    # Two guides of that store, added by name: no WeCom UserID.
    for name in (first, second):
        console.open("/staff")
        if page.get_attribute("[data-test=add-staff]", "open") is None:
            page.click("[data-test=add-staff] summary")
        page.fill("#n-name", name)
        page.select_option("#n-store", label=f"五一广场店 {suffix}")
        console.submit("[data-test=add-staff-submit]", "guide-added")
        expect(page.locator("[data-test=added]")).to_be_visible()
    first_id, second_id = _staff_id(brand, first), _staff_id(brand, second)

    # The segment's 100 customers go to the first guide, with a summary of what moved.
    console.open("/staff/assign")
    page.select_option("#a-guide", str(first_id))
    page.select_option("#a-segment", segment_key)
    console.submit("[data-test=assign-submit]", "assigned")
    expect(page.locator("[data-test=moved]")).to_have_text("100")
    console.open("/staff/stores")
    row = page.locator(f"tr[data-store='{store_code}']")
    expect(row.locator("[data-test=guides]")).to_have_text("2")
    expect(row.locator("[data-test=customers]")).to_have_text("100")
    # Again: nothing moves, and the summary says why.
    console.open("/staff/assign")
    page.select_option("#a-guide", str(first_id))
    page.select_option("#a-segment", segment_key)
    console.submit("[data-test=assign-submit]", "assigned-again")
    expect(page.locator("[data-test=moved]")).to_have_text("0")
    expect(page.locator("[data-test=skipped-already_theirs]")).to_contain_text("100")

    # One customer handed to the second guide on their own page; the move is on record.
    with unit_of_work(brand.database) as s:
        one = find_customer(s, f"{segment_key}-7").id
    console.open(f"/customers/{one}")
    page.select_option("#owner-guide", str(second_id))
    console.submit("[data-test=owner-save]", "owner-changed")
    expect(page.locator("[data-test=owner]")).to_have_text(second)
    console.open("/staff/handovers")

    # A store code for the counter, sent to the first guide; a phone scans it.
    console.open("/codes")
    if page.get_attribute("[data-test=new-code]", "open") is None:
        page.click("[data-test=new-code] summary")
    page.fill("#c-name", f"五一广场店收银台 {suffix}")
    page.select_option("#c-kind", "store")
    page.select_option("#c-store", label=f"五一广场店 {suffix}")
    page.select_option("#c-staff", str(first_id))
    page.select_option("#c-target-kind", "url")  # no WeCom: the scan opens the brand's page
    page.fill("#c-target", f"{brand.url}/healthz")
    console.submit("[data-test=create-code]", "store-code")
    code = page.inner_text("[data-test=code]")
    # Its routing table lists the guides by store: the store's two guides under its name.
    group = page.locator("[data-test=route-store]", has_text=f"五一广场店 {suffix}")
    expect(group).to_have_count(1)
    expect(page.locator(f"[data-test=route-{first_id}]")).to_be_visible()
    scan = httpx.get(f"{brand.url}/q/{code}", headers={"User-Agent": IPHONE})
    assert scan.status_code == 302 and scan.headers["location"] == f"{brand.url}/healthz"
    if language == "zh-CN":
        for path in ("/staff", "/staff/stores", "/staff/assign"):
            console.open(path)
            text = page.inner_text(".content")
            assert not [w for w in ENGLISH_ON_THESE_PAGES if w in text], path
