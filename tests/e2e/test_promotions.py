"""Promotions in a browser, in Chinese and in English: an operator writes a coupon template with
the form (a mistake named beside its field first), issues it to a segment and to a pasted list
and reads who was passed over, sees the numbers and the chart once the mall redeems one; then
sets up a flash sale and watches its stock bar follow a reservation without reloading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from siyu.core.db import session_factory, unit_of_work
from siyu.events import inbox
from siyu.promotions import flash
from siyu.promotions.models import Coupon, CouponTemplate
from siyu.segments.models import SegmentMember
from siyu.segments.service import create_segment
from siyu.users import service as user_service
from siyu.users.models import User
from tests.e2e.conftest import PASSWORD

OPERATOR = "promotions-operator@brand.cn"
# What each language's pages say where the flow checks them.
SAYS = {
    "zh-CN": {"issued": "共 4 位，已发放 4 张。", "limit": "已达每人限领张数", "live": "进行中"},
    "en": {
        "issued": "Issued 4 of 4.",
        "limit": "already hold as many as each customer may",
        "live": "Live now",
    },
}


@pytest.fixture(scope="module")
def promoting(loaded_brand):
    """An operator, and a segment of all four customers of the brand."""
    from argon2 import PasswordHasher

    b = loaded_brand
    now = datetime.now(UTC)
    with unit_of_work(b.database) as s, pytest.MonkeyPatch.context() as patch:
        patch.setattr(user_service, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
        if s.scalar(select(User.id).where(User.email == OPERATOR)) is None:
            user_service.create_user(s, OPERATOR, PASSWORD, "operator", "运营小李")
        segment = create_segment(s, "e2e-promo", "全部会员", {"tag": "VIP"})
        s.add_all(
            SegmentMember(segment_id=segment.id, customer_id=c, entered_at=now)
            for c in b.customers.values()
        )
        segment.refreshed_at, segment.member_count = now, len(b.customers)
    return b


def _local(moment: datetime) -> str:
    """A datetime-local input's value in the live server's zone (Asia/Shanghai)."""
    return (moment + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")


def _redeem_at_the_mall(brand, key: str, customer: str, order_id: str) -> None:
    """The mall sends the order that used the customer's coupon, as its events do."""
    with unit_of_work(brand.database) as s:
        code = s.scalar(
            select(Coupon.code)
            .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
            .where(CouponTemplate.key == key, Coupon.customer_id == brand.customers[customer])
        )
    order = {
        "userId": customer,
        "event": "Order Completed",
        "messageId": f"{order_id}-msg",
        "properties": {"order_id": order_id, "revenue": 328, "coupon": code},
    }
    sent = httpx.post(f"{brand.url}/v1/track", json=order, auth=(brand.write_key, ""))
    assert sent.status_code == 200, sent.text
    inbox.process_all(session_factory(brand.database))


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_an_operator_runs_a_coupon_and_a_flash_sale(console, promoting, locale):
    brand, page, says = promoting, console.page, SAYS[locale]
    suffix = "zh" if locale == "zh-CN" else "en"
    console.sign_in(OPERATOR)
    if locale == "en":
        console.submit("[data-test=lang-switch]", "english")
    console.open("/promotions")
    assert console.lang == locale

    # A coupon template through the form: a 满减 whose threshold is under its amount, then fixed.
    console.submit("[data-test=new-coupon]", "coupon-form")
    page.fill("#c-name", "双十二满 300 减 50" if suffix == "zh" else "Double 12: 50 off 300")
    page.fill("#c-key", f"double12-{suffix}")
    page.select_option("#c-kind", "threshold")
    expect(page.locator("#c-percent")).to_be_hidden()
    page.fill("#c-amount", "50")
    page.fill("#c-threshold", "30")
    page.fill("#c-stock", "100")
    console.submit("[data-test=save-coupon]", "coupon-refused")
    expect(page.locator("[data-error-for=threshold]")).to_be_visible()
    expect(page.locator("#c-threshold")).to_have_value("30")
    page.fill("#c-threshold", "300")
    console.submit("[data-test=save-coupon]", "coupon-saved")
    expect(page.locator("[data-test=done]")).to_be_visible()
    expect(page.locator("[data-test=no-chart]")).to_be_visible()

    # Issued to the segment, then to a list naming one of them again and a phone nobody has.
    page.check("[data-test=audience-segment]")
    page.select_option("[data-test=issue-segment]", "e2e-promo")
    console.submit("[data-test=issue-submit]", "issued-to-segment")
    expect(page.locator("[data-test=outcome]")).to_contain_text(says["issued"])
    page.check("[data-test=audience-list]")
    page.fill("[data-test=issue-customers]", "13800001111\n13811112222")
    console.submit("[data-test=issue-submit]", "issued-to-list")
    expect(page.locator("[data-test=skipped-limit]")).to_contain_text(says["limit"])
    expect(page.locator("[data-test=unknown]")).to_contain_text("13811112222")

    # The mall redeems one on an order of ¥328: the numbers and the chart show it.
    _redeem_at_the_mall(brand, f"double12-{suffix}", "c-wang", f"e2e-promo-{suffix}")
    console.open(f"/promotions/coupons/double12-{suffix}")
    expect(page.locator("[data-test=issued]")).to_have_text("4")
    expect(page.locator("[data-test=redeemed]")).to_have_text("1")
    expect(page.locator("[data-test=rate]")).to_have_text("25.0%")
    expect(page.locator("[data-test=cost]")).to_have_text("¥50.00")
    expect(page.locator("[data-test=gmv]")).to_have_text("¥328.00")
    expect(page.locator("#chart-coupons canvas")).to_have_count(1)
    console.shot("coupon-numbers")

    # A flash sale on now; its stock bar follows a reservation by itself.
    console.open("/promotions/flash-sales/new")
    now = datetime.now(UTC)
    page.fill("#f-name", "双十二保温杯" if suffix == "zh" else "Double 12 thermos cup")
    page.fill("#f-key", f"cup-{suffix}")
    page.fill("#f-product", "CUP-500")
    page.fill("#f-price", "99")
    page.fill("#f-list-price", "199")
    page.fill("#f-stock", "20")
    page.fill("#f-per-customer", "2")
    page.fill("#f-start", _local(now - timedelta(hours=1)))
    page.fill("#f-end", _local(now + timedelta(days=1)))
    console.submit("[data-test=save-flash-sale]", "flash-sale-saved")
    expect(page.locator("[data-test=phase]")).to_have_text(says["live"])
    expect(page.locator("[data-test=available]")).to_have_text("20")
    with unit_of_work(brand.database) as s:
        flash.reserve(s, f"cup-{suffix}", brand.customers["c-li"], 2)
    expect(page.locator("[data-test=held]")).to_have_text("2", timeout=12_000)
    expect(page.locator("[data-test=available]")).to_have_text("18")
    expect(page.locator("[data-test=reservation]")).to_have_count(1)
    console.shot("flash-sale-live")

    console.open("/promotions")
    row = page.locator(f"[data-test=sale-row][data-key=cup-{suffix}]")
    expect(row.locator("[data-test=stock-bar]")).to_be_visible()
    expect(row.locator("[data-test=held]")).to_have_text("2")
    expect(page.locator(f"[data-test=template-row][data-key=double12-{suffix}]")).to_be_visible()
    expect(page.locator("[data-test=cal-flash]").first).to_be_visible()
    console.shot("overview")
