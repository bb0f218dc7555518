"""Browser flow: build a segment from dropdowns with a live count, fill it, export it, tag it."""

from __future__ import annotations

import time

from playwright.sync_api import expect


def _count_when_ready(console, seconds: float = 40) -> str:
    """The builder's live count once the lake's snapshot holds the brand (the shipper writes it)."""
    page, deadline = console.page, time.monotonic() + seconds
    while time.monotonic() < deadline:
        page.dispatch_event("#builder", "input")
        page.wait_for_timeout(1500)
        counted = page.locator("[data-test=preview-count]")
        if counted.count() and counted.inner_text() != "0":
            return counted.inner_text()
    return page.inner_text("#preview")


def test_operator_builds_fills_exports_and_tags_a_segment(console, brand):
    page = console.page
    console.sign_in(brand.admin)
    console.open("/tags")
    page.fill("#tag-name", "王姓客户")
    console.submit("form[action='/tags'] button", "tag-created")
    expect(page.locator("[data-tag=王姓客户]")).to_be_visible()

    console.open("/segments")
    assert page.url.endswith("/segments/list")
    console.open("/segments/new")
    page.fill("#name", "王姓客户")
    page.fill("#key", "wang")
    page.select_option("select[name=kind_0]", "attribute")
    page.fill("input[name=attr_0]", "name")
    page.select_option("select[name=aop_0]", "contains")
    page.fill("input[name=value_0]", "王")
    assert _count_when_ready(console) == "1"
    expect(page.locator("[data-test=preview-sample] li")).to_have_count(1)
    page.click("[data-test=add-condition]")
    page.select_option("select[name=kind_1]", "no_tag")
    # The tag just made, which nobody has yet (other flows tag 王小明 with tags of their own).
    page.select_option("select[name=tag_1]", label="王姓客户")
    page.dispatch_event("#builder", "input")
    expect(page.locator("[data-test=preview-count]")).to_have_text("1")
    console.shot("builder-two-conditions")
    console.submit("[data-test=save-segment]", "segment-saved")
    assert page.url.endswith("/segments/wang")
    expect(page.locator("[data-test=refresh-status]")).to_have_text("完成", timeout=30_000)
    console.open("/segments/wang")
    expect(page.locator("[data-test=member-count]")).to_have_text("1")
    with page.expect_download() as download:
        page.click("[data-test=export]")
    csv = download.value.path().read_text(encoding="utf-8-sig").splitlines()
    assert csv[0] == "客户 ID,用户 ID,姓名,手机号,导购,进入时间（Asia/Shanghai）"
    assert csv[1].split(",")[1:4] == ["c-wang", "王小明", "13800001111"]

    console.open("/tags")
    page.select_option("#bulk-tag", label="王姓客户")
    page.select_option("#bulk-segment", "wang")
    console.submit("[data-test=bulk-submit]", "bulk-started")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if page.locator("[data-tag=王姓客户] [data-test=count]").inner_text() == "1":
            break
        page.wait_for_timeout(1000)
        console.open("/tags?tag=")
    expect(page.locator("[data-tag=王姓客户] [data-test=count]")).to_have_text("1")
    assert "user:admin@brand.cn" in page.inner_text("[data-test=history]")

    console.submit("[data-test=lang-switch]", "english")
    console.open("/segments/new")
    assert "Customers who match" in page.content()
