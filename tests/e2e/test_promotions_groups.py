"""Group buys and tiered prices in a browser, in Chinese and in English: an operator sets up a
group buy with the form (a mistake named beside its field first), watches a group the mall
opens appear without reloading and pauses it; sets up a tiered price whose count and price
follow a participant; and finds both on the promotions calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from siyu.core.db import unit_of_work
from siyu.promotions import group_buys, tiered
from siyu.users import service as user_service
from siyu.users.models import User
from tests.e2e.conftest import PASSWORD

OPERATOR = "groups-operator@brand.cn"
SAYS = {
    "zh-CN": {"live": "进行中", "paused": "已暂停", "steps": "每档写一行"},
    "en": {"live": "Live now", "paused": "Paused", "steps": "write each step on a line"},
}


@pytest.fixture(scope="module")
def operating(loaded_brand):
    from argon2 import PasswordHasher

    with unit_of_work(loaded_brand.database) as s, pytest.MonkeyPatch.context() as patch:
        patch.setattr(user_service, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
        if s.scalar(select(User.id).where(User.email == OPERATOR)) is None:
            user_service.create_user(s, OPERATOR, PASSWORD, "operator", "运营小周")
    return loaded_brand


def _local(moment: datetime) -> str:
    """A datetime-local input's value in the live server's zone (Asia/Shanghai)."""
    return (moment + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")


def _when(page, now: datetime) -> None:
    page.fill("#f-start", _local(now - timedelta(hours=1)))
    page.fill("#f-end", _local(now + timedelta(days=2)))


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_an_operator_runs_a_group_buy_and_a_tiered_price(console, operating, locale):
    brand, page, says = operating, console.page, SAYS[locale]
    suffix = "zh" if locale == "zh-CN" else "en"
    console.sign_in(OPERATOR)
    if locale == "en":
        console.submit("[data-test=lang-switch]", "english")
    console.open("/promotions")
    assert console.lang == locale
    now = datetime.now(UTC)

    # A group buy through the form: a group of one is refused beside its field, then fixed.
    console.submit("[data-test=new-group-buy]", "group-form")
    page.fill("#f-name", "三人团茶具" if suffix == "zh" else "Tea set, three together")
    page.fill("#f-key", f"tea-{suffix}")
    page.fill("#f-product", "TEA-SET")
    page.fill("#f-price", "79")
    page.fill("#f-size", "1")
    _when(page, now)
    console.submit("[data-test=save-group-buy]", "group-refused")
    expect(page.locator("[data-error-for=size]")).to_be_visible()
    expect(page.locator("#f-name")).to_have_value(
        "三人团茶具" if suffix == "zh" else "Tea set, three together"
    )
    page.fill("#f-size", "3")
    console.submit("[data-test=save-group-buy]", "group-saved")
    expect(page.locator("[data-test=done]")).to_be_visible()
    expect(page.locator("[data-test=phase]")).to_have_text(says["live"])
    expect(page.locator("[data-test=no-open-groups]")).to_be_visible()

    # The mall opens a group: it shows up by itself, with its leader and time left.
    with unit_of_work(brand.database) as s:
        group_buys.open_group(
            s, f"tea-{suffix}", brand.customers["c-wang"], f"tea-{suffix}-1", 7900
        )
    expect(page.locator("[data-test=open]")).to_have_text("1", timeout=12_000)
    expect(page.locator("[data-test=places]")).to_have_text("1 / 3")
    expect(page.locator("[data-test=gmv]")).to_have_text("¥79.00")
    expect(page.locator("#chart-groups canvas")).to_have_count(1)
    console.shot("group-live")
    console.submit("[data-test=pause]", "group-paused")
    expect(page.locator("[data-test=phase]")).to_have_text(says["paused"])

    # A tiered price: steps that do not read are refused, then written right.
    console.open("/promotions/tiered/new")
    page.fill("#f-name", "阶梯价电饭煲" if suffix == "zh" else "Rice cooker, the more the cheaper")
    page.fill("#f-key", f"cooker-{suffix}")
    page.fill("#f-product", "COOKER-3L")
    page.fill("#f-base", "99")
    page.fill("#f-tiers", "ten people 89")
    _when(page, now)
    console.submit("[data-test=save-tiered]", "tiered-refused")
    expect(page.locator("[data-error-for=tiers]")).to_contain_text(says["steps"])
    page.fill("#f-tiers", "1 = 89\n3 = 79")
    console.submit("[data-test=save-tiered]", "tiered-saved")
    expect(page.locator("[data-test=current-price]")).to_have_text("¥99.00")
    with unit_of_work(brand.database) as s:
        tiered.join(s, f"cooker-{suffix}", brand.customers["c-li"], f"cooker-{suffix}-1")
    expect(page.locator("[data-test=participants]")).to_have_text("1", timeout=12_000)
    expect(page.locator("[data-test=current-price]")).to_have_text("¥89.00")
    expect(page.locator("#chart-tiered canvas")).to_have_count(1)
    console.shot("tiered-live")

    # Both on the overview and on this month's calendar.
    console.open("/promotions")
    expect(page.locator(f"[data-test=group-buy-row][data-key=tea-{suffix}]")).to_be_visible()
    expect(page.locator(f"[data-test=tiered-row][data-key=cooker-{suffix}]")).to_be_visible()
    expect(
        page.locator(f"[data-test=cal-group][href='/promotions/group-buys/tea-{suffix}']").first
    ).to_be_visible()
    expect(
        page.locator(f"[data-test=cal-tiered][href='/promotions/tiered/cooker-{suffix}']").first
    ).to_be_visible()
    page.locator("[data-test=calendar]").scroll_into_view_if_needed()
    console.shot("calendar")
