"""Browser flows: edit a stored segment in the rule builder (live count, save, members refreshed),
and read a report filtered to a saved segment."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from siyu.core.db import unit_of_work
from siyu.segments import service as segments
from siyu.segments.models import Segment
from tests.e2e.test_reports import _orders_in_the_lake

WANG = {"attribute": "name", "op": "contains", "value": "王"}


def _segment(brand, key: str, name: str, rule: dict, refresh: bool) -> None:
    with unit_of_work(brand.database) as s:
        if s.scalar(select(Segment.id).where(Segment.key == key)) is None:
            segment = segments.create_segment(s, key, name, rule, "manual")
            if refresh:
                segments.request_refresh(s, segment)


def _count(page) -> int:
    return int(page.inner_text("[data-test=preview-count]").replace(",", ""))


def test_operator_edits_a_segment_in_the_builder_and_its_members_follow(console, brand):
    _segment(brand, "edit-me", "王姓", WANG, refresh=True)
    page = console.page
    console.sign_in(brand.admin)
    console.open("/segments/edit-me")
    expect(page.locator("[data-test=refresh-status]")).to_have_text("完成", timeout=30_000)
    console.open("/segments/edit-me")
    expect(page.locator("[data-test=member-count]")).to_have_text("1")

    console.submit("[data-test=edit]", "edit-opened")
    assert page.url.endswith("/segments/edit-me/edit")
    expect(page.locator("select[name=kind_0]")).to_have_value("attribute")
    expect(page.locator("input[name=attr_0]")).to_have_value("name")
    expect(page.locator("select[name=aop_0]")).to_have_value("contains")
    expect(page.locator("input[name=value_0]")).to_have_value("王")
    expect(page.locator("[data-test=key]")).to_have_text("edit-me")
    expect(page.locator("[data-test=preview-count]")).to_have_text("1", timeout=20_000)

    page.select_option("select[name=aop_0]", "exists")  # a change event: htmx counts again
    expect(page.locator("[data-test=preview-count]")).not_to_have_text("1", timeout=20_000)
    counted = _count(page)
    assert counted >= 4  # every customer of the brand has a name
    page.fill("#name", "有姓名的客户")
    console.shot("builder-edited")

    console.submit("[data-test=save-segment]", "segment-edited")
    assert page.url.endswith("/segments/edit-me")
    assert "有姓名的客户" in page.inner_text("h1")
    assert '"exists"' in page.inner_text("[data-test=rule]")
    # The poll that sees the refresh end reloads the page with the new members.
    expect(page.locator("[data-test=member-count]")).to_have_text(str(counted), timeout=30_000)
    expect(page.locator("[data-test=refresh-status]")).to_have_text("完成")
    assert f"{counted} 位成员" in page.inner_text("[data-test=refresh-progress]")
    expect(page.locator("[data-test=members] tbody tr")).to_have_count(min(counted, 20))
    console.shot("segment-refreshed")


def test_a_report_filtered_by_a_segment_counts_fewer_customers(console, brand):
    _orders_in_the_lake(brand)
    _segment(brand, "wang-buyers", "王姓买家", WANG, refresh=False)
    page = console.page
    console.sign_in(brand.admin)
    console.open("/reports/gmv")
    everyone = page.locator("[data-test=report-table] tbody tr").first.locator("td")
    buyers_all = int(everyone.nth(2).inner_text())

    page.select_option("[data-test=segment-filter]", "wang-buyers")
    console.submit("[data-test=filters] button", "gmv-by-segment")
    expect(page.locator("[data-test=segment-filter]")).to_have_value("wang-buyers")
    expect(page.locator("[data-test=chart] canvas").first).to_be_visible()
    shown = page.locator("[data-test=report-table] tbody tr").first.locator("td")
    buyers_in_segment = int(shown.nth(2).inner_text())

    assert buyers_in_segment == 1 < buyers_all
    assert "segment=wang-buyers" in page.get_attribute("[data-test=csv]", "href")
    console.shot("gmv-by-segment-drawn")
