"""Browser flows of the segment builder, in both languages: the live count before a name or key,
pickers by display name, a warning for what does not exist, the key's pattern in this Chromium,
and the members (names, phones, the CSV in the console's language and the brand's zone)."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from siyu.core.auth import create_token
from siyu.core.db import unit_of_work
from siyu.segments import service as segments
from siyu.segments.models import Segment, SegmentMember
from siyu.staff import service as staff
from siyu.touchpoints import service as touchpoints
from siyu.users.models import User

LANGUAGES = ["zh-CN", "en"]
WORDS = {
    "zh-CN": {"any_store": "任一「门店」触点", "warning": "没有标签", "event": "没有记录过事件"},
    "en": {"any_store": "any Store touchpoint", "warning": "There is no tag", "event": "No event"},
}


def _speak(brand, locale: str) -> None:
    with unit_of_work(brand.database) as s:
        s.execute(update(User).where(User.email == brand.admin).values(locale=locale))


def _segment(brand, key: str, rule: dict, refresh: bool = False) -> None:
    with unit_of_work(brand.database) as s:
        if s.scalar(select(Segment.id).where(Segment.key == key)) is None:
            segment = segments.create_segment(s, key, key, rule, "manual")
            if refresh:
                segments.request_refresh(s, segment)


def _count(page, seconds: float = 60, not_text: str | None = None) -> int:
    """The live count once it shows (the lake may still be catching up: nudge the form)."""
    deadline = time.monotonic() + seconds
    counted = page.locator("[data-test=preview-count]")
    while time.monotonic() < deadline:
        if counted.count() and counted.inner_text() not in ("0", not_text):
            return int(counted.inner_text().replace(",", ""))
        page.dispatch_event("#builder", "input")
        page.wait_for_timeout(1200)
    return int(counted.inner_text().replace(",", "")) if counted.count() else -1


@pytest.mark.parametrize("locale", LANGUAGES)
def test_the_count_follows_every_change_before_a_name_or_key(console, brand, locale):
    _speak(brand, locale)
    page = console.page
    console.sign_in(brand.admin)
    console.open("/segments/new")
    assert console.lang == locale
    expect(page.locator("#name")).to_have_value("")
    expect(page.locator("#key")).to_have_value("")

    page.select_option("select[name=kind_0]", "attribute")
    page.fill("input[name=attr_0]", "name")
    page.select_option("select[name=aop_0]", "exists")
    assert _count(page) >= 4  # every customer of the brand has a name; nothing named yet

    page.select_option("select[name=aop_0]", "contains")
    page.fill("input[name=value_0]", "王")  # typed: counted after a pause, not per key
    expect(page.locator("[data-test=preview-count]")).to_have_text("1", timeout=15_000)
    expect(page.locator("[data-test=preview-sample] li")).to_have_text("王小明 c-wang")  # by name

    page.select_option("select[name=kind_0]", "owner")  # a guide, picked by name
    page.select_option("select[name=owner_0]", label="张导购")
    expect(page.locator("[data-test=preview-count]")).to_have_text("2", timeout=15_000)
    console.shot(f"builder-count-without-name-{locale}")


@pytest.mark.parametrize("locale", LANGUAGES)
def test_a_touchpoint_is_picked_by_name_or_by_type(console, brand, locale):
    code = f"e2e-poster-{locale}"
    scan = {
        "type": "track",
        "event": "QR Code Scanned",
        "userId": "c-zhao",
        "messageId": f"e2e-scan-{locale}",
        "timestamp": datetime.now(UTC).isoformat(),
        "properties": {"touchpoint": code},
    }
    with unit_of_work(brand.database) as s:
        touchpoints.register(s, code, f"南京西路海报 {locale}", group="poster")
        touchpoints.register(s, f"e2e-store-{locale}", f"静安门店 {locale}", group="store")
    answer = httpx.post(f"{brand.url}/v1/track", json=scan, auth=(brand.write_key, ""))
    assert answer.status_code == 200, answer.text
    _speak(brand, locale)
    page = console.page
    console.sign_in(brand.admin)
    console.open("/segments/new")

    page.select_option("select[name=kind_0]", "last_touchpoint")
    page.select_option("select[name=tp_0]", label=f"南京西路海报 {locale}")
    # 赵磊 scanned it, once the lake has the scan; the count read is the one for this rule.
    rule, counted = page.locator("#preview details pre"), page.locator("[data-test=preview-count]")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if code in (rule.text_content() or "") and counted.inner_text() == "1":
            break
        page.dispatch_event("#builder", "input")
        page.wait_for_timeout(1200)
    expect(counted).to_have_text("1")
    expect(page.locator("[data-test=preview-warning]")).to_have_count(0)
    page.click("#preview details summary")
    expect(page.locator("#preview details pre")).to_contain_text(f'"{code}"')

    page.select_option("select[name=tp_0]", label=WORDS[locale]["any_store"])
    page.click("#preview details summary")
    expect(page.locator("#preview details pre")).to_contain_text('"in_group"', timeout=15_000)
    # Other flows scan store codes in this shared brand: the page's count must be what the API
    # counts for the rule the picker made (a type, not the poster picked before).
    picked = json.loads(rule.text_content() or "{}")
    assert code not in json.dumps(picked) and "store" in json.dumps(picked)
    with unit_of_work(brand.database) as s:
        _, token = create_token(s, f"e2e-builder-{locale}", "analyst")
    answer = httpx.post(
        f"{brand.url}/api/segments/preview",
        json={"rule": picked},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text
    expect(counted).to_have_text(f"{answer.json()['count']:,}", timeout=15_000)
    console.shot(f"builder-touchpoint-type-{locale}")


@pytest.mark.parametrize("locale", LANGUAGES)
def test_an_unknown_tag_or_event_is_a_warning_not_a_silent_zero(console, brand, locale):
    _segment(brand, "ghost-tag", {"tag": "不存在的标签"})
    _segment(brand, "ghost-event", {"event": "Made Up Event", "within_days": 30})
    _speak(brand, locale)
    page = console.page
    console.sign_in(brand.admin)

    console.open("/segments/ghost-tag/edit")
    warning = page.locator("[data-test=preview-warning]")
    expect(warning).to_have_count(1, timeout=20_000)
    expect(warning).to_contain_text(WORDS[locale]["warning"])
    expect(warning).to_contain_text("不存在的标签")
    console.shot(f"builder-unknown-tag-{locale}")

    console.open("/segments/ghost-event/edit")
    expect(warning).to_have_count(1, timeout=20_000)
    expect(warning).to_contain_text(WORDS[locale]["event"])
    expect(warning).to_contain_text("Made Up Event")

    page.select_option("select[name=event_0]", "Order Completed")  # a known event: no warning
    expect(warning).to_have_count(0, timeout=15_000)


@pytest.mark.parametrize("locale", LANGUAGES)
def test_the_key_pattern_holds_in_this_chromium(console, brand, locale):
    _speak(brand, locale)
    page = console.page
    console.sign_in(brand.admin)
    console.open("/segments/new")
    key = page.locator("#key")

    for good in ("vip-buyers", "double_11-2026", "a"):
        key.fill(good)
        assert key.evaluate("k => k.validity.valid"), good
    for bad in ("Bad Key", "-starts-with-dash", "中文", "vip.buyers"):
        key.fill(bad)
        assert key.evaluate("k => k.validity.patternMismatch"), bad

    page.fill("#name", "坏的标识")
    key.fill("Bad Key")
    page.click("[data-test=save-segment]")  # the browser refuses it: nothing is sent
    assert page.url.endswith("/segments/new")
    assert key.evaluate("k => k.validationMessage") != ""


@pytest.mark.parametrize("locale", LANGUAGES)
def test_members_show_names_and_phones_and_export_in_the_language_and_zone(console, brand, locale):
    key = f"wang-members-{locale.lower()}"
    _segment(brand, key, {"attribute": "name", "op": "contains", "value": "王"}, refresh=True)
    _speak(brand, locale)
    page = console.page
    console.sign_in(brand.admin)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        console.open(f"/segments/{key}")
        if page.locator("[data-test=members] tbody tr").count():
            break
        page.wait_for_timeout(1000)
    row = page.locator("[data-test=members] tbody tr").first
    expect(row.locator("[data-test=member-name]")).to_have_text("王小明")
    expect(row.locator("[data-test=member-phone]")).to_have_text("13800001111")  # an admin
    expect(row).to_contain_text("张导购")
    console.shot(f"segment-members-{locale}")

    with page.expect_download() as download:
        page.click("[data-test=export]")
    text = download.value.path().read_text(encoding="utf-8-sig")
    header, first = list(csv.reader(io.StringIO(text)))[:2]
    if locale == "zh-CN":
        assert header == [
            "客户 ID",
            "用户 ID",
            "姓名",
            "手机号",
            "导购",
            "进入时间（Asia/Shanghai）",
        ]  # noqa: E501
    else:
        assert header == [
            "Customer ID",
            "User ID",
            "Customer name",
            "Phone",
            "Guide",
            "Entered (Asia/Shanghai)",
        ]
    with unit_of_work(brand.database) as s:
        entered = s.scalar(
            select(SegmentMember.entered_at)
            .join(Segment, Segment.id == SegmentMember.segment_id)
            .where(Segment.key == key)
        )
    shanghai = entered.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")
    assert first[1:5] == ["c-wang", "王小明", "13800001111", "张导购"]
    assert first[5] == shanghai


@pytest.mark.parametrize("locale", LANGUAGES)
def test_every_kind_of_condition_has_a_row(console, brand, locale):
    with unit_of_work(brand.database) as s:
        if not any(store.code == "e2e-jingan" for store in staff.list_stores(s)):
            staff.create_store(s, "e2e-jingan", "静安店")
    _speak(brand, locale)
    page = console.page
    console.sign_in(brand.admin)
    console.open("/segments/new")
    rule = page.locator("#preview details pre")
    choices = {
        "sequence": ("event_0", "Product Viewed", '"sequence"'),
        "store": ("store_0", "静安店", '"store"'),
        "owner": ("owner_0", "李导购", '"owner"'),
        "lifecycle": ("lifecycle_0", "silent", '"lifecycle"'),
        "rfm": ("rfm_0", "important_value", '"rfm"'),
        "first_touchpoint": ("tp_0", "group:store", '"in_group"'),
        "last_touchpoint": ("tp_0", "group:poster", '"last_touchpoint"'),
    }
    by_value = ("group:store", "group:poster", "silent", "important_value", "Product Viewed")
    for kind, (field, choice, said) in choices.items():
        page.select_option("select[name=kind_0]", kind)
        picker = page.locator(f"select[name={field}]")
        expect(picker).to_be_visible()
        if choice in by_value:
            picker.select_option(choice)
        else:
            picker.select_option(label=choice)
        expect(page.locator("[data-test=preview-count]")).to_be_visible(timeout=15_000)
        page.click("#preview details summary")
        expect(rule).to_contain_text(said, timeout=15_000)
    console.shot(f"builder-every-kind-{locale}")
