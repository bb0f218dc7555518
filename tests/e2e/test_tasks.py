"""Guide tasks in a browser: the admin hands one out to a segment's guides and sees the progress
chart; the guide opens their task and marks a customer done."""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.sync_api import expect

from siyu.core.db import unit_of_work
from siyu.segments.models import SegmentMember
from siyu.segments.service import create_segment


def _segment(brand) -> str:
    now = datetime.now(UTC)
    with unit_of_work(brand.database) as s:
        segment = create_segment(s, "e2e-task-vip", "E2E 会员", {"tag": "VIP"})
        s.add_all(
            SegmentMember(segment_id=segment.id, customer_id=c, entered_at=now)
            for c in brand.customers.values()
        )
        segment.refreshed_at, segment.member_count = now, len(brand.customers)
        return segment.key


def test_a_task_is_handed_out_followed_and_done(console, brand):
    key = _segment(brand)
    console.sign_in(brand.admin)
    console.open("/tasks")
    page = console.page
    page.fill("#t-title", "双十二预热：发会员券")
    page.select_option("#t-segment", key)
    page.fill("#t-message", "双十二会员专享券已到账，到店出示即可使用。")
    console.submit("[data-test=create-task]", "task-created")
    expect(page.locator("[data-test=done]")).to_be_visible()
    expect(page.locator("[data-test=guides] tbody tr")).to_have_count(2)
    expect(page.locator("#chart-guides canvas")).to_have_count(1)  # ECharts drew it
    task_url = page.url.split("?")[0]
    console.sign_out()

    console.sign_in(brand.guide)
    console.open("/tasks")
    expect(page.locator("[data-test=my-tasks]")).to_contain_text("双十二预热")
    console.open(task_url.removeprefix(brand.url))
    expect(page.locator("[data-test=mark-done]")).to_have_count(2)  # only 张导购's customers
    page.click("[data-test=mark-done] >> nth=0")  # swapped in place: no new page
    expect(page.locator("[data-test=mark-done]")).to_have_count(1)
    expect(page.locator("[data-test=rate]")).to_contain_text("50")
    console.shot("marked-done")
    # A guide works the list on a phone: the button is in view and the page does not scroll.
    page.set_viewport_size({"width": 390, "height": 800})
    box = page.locator("[data-test=mark-done]").bounding_box()
    assert box["x"] + box["width"] <= 390
    wide = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert wide[0] <= wide[1]
    page.set_viewport_size({"width": 1280, "height": 800})
    console.sign_out()

    console.sign_in(brand.admin)
    console.open(task_url.removeprefix(brand.url))
    expect(page.locator("[data-test=guides]")).to_contain_text("50")
    console.open("/tasks")
    expect(page.locator("[data-test=tasks]")).to_contain_text("25")
