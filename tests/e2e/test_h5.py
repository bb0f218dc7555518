"""The customer pages at phone width (390 px) in Chromium: a customer signs in by an SMS code,
claims a coupon and reserves from a flash sale; inside WeChat a leader opens a group (paying in
the brand's mall, a fake one on 127.0.0.1 that tells Siyu through the mall's API) and a second
customer joins it from the leader's share link; one page in English."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from siyu.core.auth import create_token
from siyu.core.db import unit_of_work
from siyu.promotions import coupon_templates, flash, group_buys, tiered
from tests.e2e.conftest import own_database, serving
from tests.messaging.fake_sms import ALIYUN_KEY_ID, ALIYUN_SECRET, FakeSms
from tests.promotions.fake_mall import FakeMall
from tests.promotions.fake_wechat_oauth import APP_ID, APP_SECRET, FakeWechatOAuth

SHOTS = Path("/tmp/h5-shots")
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile"


def wechat_agent(language: str = "zh_CN") -> str:
    return f"{IPHONE} MicroMessenger/8.0.50(0x18003231) NetType/WIFI Language/{language}"


@dataclass
class Site:
    url: str
    sms: FakeSms
    wechat: FakeWechatOAuth
    mall: FakeMall


@pytest.fixture(scope="module")
def site(database_url, tmp_path_factory) -> Iterator[Site]:
    home = tmp_path_factory.mktemp("e2e-h5")
    with (
        FakeSms() as sms,
        FakeWechatOAuth() as wechat,
        FakeMall() as mall,
        own_database(database_url, home, "h5") as url,
    ):
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("SIYU_WECHAT_", "SIYU_SMS"))
        }
        env |= {
            "SIYU_DATABASE_URL": url,
            "SIYU_LAKE": str(home / "lake"),
            "SIYU_LOCALE": "zh-CN",
            "SIYU_BRAND_NAME": "山茶",
            "SIYU_SMS_PROVIDER": "aliyun",
            "SIYU_ALIYUN_ACCESS_KEY_ID": ALIYUN_KEY_ID,
            "SIYU_ALIYUN_ACCESS_KEY_SECRET": ALIYUN_SECRET,
            "SIYU_SMS_ENDPOINT": sms.endpoint,
            "SIYU_SMS_CODE_TEMPLATE": "SMS_CODE_1",
            "SIYU_SMS_SIGN_NAME": "山茶",
            "SIYU_WECHAT_APP_ID": APP_ID,
            "SIYU_WECHAT_SECRET": APP_SECRET,
            "SIYU_WECHAT_API_BASE": f"{wechat.base}/cgi-bin/",
            "SIYU_WECHAT_OAUTH_BASE": f"{wechat.base}/connect/",
            "SIYU_MALL_URL": mall.checkout,
        }
        with serving(env, home) as address:
            now = datetime.now(UTC)
            start, end = now - timedelta(hours=1), now + timedelta(days=2)
            with unit_of_work(url) as s:
                mall.siyu, mall.token = address, create_token(s, "mall", "mall")[1]
                coupon_templates.create_template(
                    s,
                    "new-fan",
                    "新粉丝 10 元券",
                    "amount",
                    amount_fen=1000,
                    threshold_fen=5900,
                    stock=100,
                    valid_days=30,
                    claimable=True,
                )
                flash.create_sale(s, "cup", "双十二 保温杯", "CUP-500", 9900, 20, 1, start, end)
                group_buys.create_group_buy(
                    s, "tea", "两人拼 龙井", "TEA-250", 5900, 2, 24, start, end
                )
                tiered.create_tiered(
                    s,
                    "pot",
                    "越多人越便宜 茶壶",
                    "POT-1",
                    19900,
                    [(3, 16900), (10, 12900)],
                    start,
                    end,
                )
            yield Site(address, sms, wechat, mall)


def phone(browser, agent: str = IPHONE, locale: str = "zh-CN"):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale=locale, user_agent=agent
    )
    context.set_default_timeout(10_000)
    return context, context.new_page()


def shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    if name.endswith("-zh"):  # no English word outside codes and links a customer copies
        shown = page.evaluate(
            "(() => { const m = document.querySelector('main').cloneNode(true);"
            " m.querySelectorAll('code').forEach(c => c.remove()); return m.innerText; })()"
        )
        assert not re.search(r"[A-Za-z]{2,}", shown), shown


def test_claim_a_coupon_and_reserve_from_a_flash_sale_signed_in_by_sms(browser, site):
    context, page = phone(browser)
    try:
        page.goto(f"{site.url}/h5/coupons/new-fan")
        expect(page.locator("h1")).to_have_text("新粉丝 10 元券")
        expect(page.locator("[data-test=offer]")).to_contain_text("减 ¥10.00")
        expect(page.locator("[data-test=facts]").first).to_contain_text("100")
        shot(page, "coupon-signed-out-zh")
        page.fill("input[name=phone]", "13700000001")
        page.click("[data-test=phone] button")
        [sent] = site.sms.state.sent()
        expect(page.locator("[data-test=code]")).to_contain_text("13700000001")
        shot(page, "code-zh")
        page.fill("input[name=code]", sent.params["code"])
        page.click("[data-test=code-form] button")
        expect(page).to_have_url(f"{site.url}/h5/coupons/new-fan")
        page.click("[data-test=claim] button")
        expect(page.locator("[data-test=claimed]")).to_contain_text("结账时出示")
        expect(page.locator("[data-test=claimed] code")).to_have_text(re.compile(r"^[2-9A-Z]{12}$"))
        expect(page.locator("[data-test=facts]").first).to_contain_text("99")
        shot(page, "coupon-claimed-zh")

        page.goto(f"{site.url}/h5/flash/cup")
        expect(page.locator("[data-test=offer]")).to_contain_text("¥99.00")
        expect(page.locator("[data-test=facts]")).to_contain_text("20")
        page.click("[data-test=reserve] button")
        expect(page.locator("[data-test=reserved]")).to_contain_text("为你保留到")
        expect(page.locator("[data-test=reserved] code")).to_have_text(re.compile(r"^R\d+$"))
        expect(page.locator("[data-test=facts]")).to_contain_text("19")
        expect(page.locator("[data-test=reserve]")).to_have_count(0)
        mall = page.get_attribute("[data-test=mall]", "href") or ""
        assert mall.startswith(site.mall.checkout) and "flash_sale=cup" in mall
        shot(page, "flash-reserved-zh")

        page.goto(f"{site.url}/h5/me")  # 会员中心: the tier, the points, the coupon claimed
        expect(page.locator("[data-test=card]")).to_contain_text("积分")
        expect(page.locator("[data-test=coupons]")).to_contain_text("新粉丝 10 元券")
        shot(page, "member-zh")
    finally:
        context.close()


def back_at(url: str) -> re.Pattern[str]:
    """The page again; a browser keeps the authorisation's #wechat_redirect across redirects."""
    return re.compile(re.escape(url) + "(#wechat_redirect)?$")


def sign_in_in_wechat(page) -> None:
    page.click("[data-test=wechat]")  # WeChat's authorisation comes straight back (snsapi_base)


def test_a_leader_opens_a_group_in_wechat_and_a_friend_joins_from_the_share_link(browser, site):
    leader, page = phone(browser, wechat_agent())
    friend, other = phone(browser, wechat_agent())
    try:
        page.goto(f"{site.url}/h5/groups/tea")
        expect(page.locator("[data-test=offer]")).to_contain_text("2 人成团")
        sign_in_in_wechat(page)
        expect(page).to_have_url(back_at(f"{site.url}/h5/groups/tea"))
        page.click("[data-test=to-mall]")  # pays in the mall, which opens the group
        expect(page.locator("[data-test=progress]")).to_contain_text("还差 1 人")
        share = page.inner_text("[data-test=share] code")
        assert share.startswith(f"{site.url}/h5/g/")
        shot(page, "group-opened-zh")

        other.goto(share)
        expect(other.locator("[data-test=members]")).to_contain_text("团长")
        sign_in_in_wechat(other)
        expect(other).to_have_url(back_at(share))
        other.click("[data-test=to-mall]")  # pays in the mall, which takes the place
        expect(other.locator("[data-test=progress]")).to_contain_text("拼团成功")
        expect(other.locator("[data-test=members]")).to_contain_text("你")
        shot(other, "group-joined-zh")

        page.reload()
        expect(page.locator("[data-test=progress]")).to_contain_text("2/2")
        paid = [o for o in site.mall.orders if o.get("group_buy") == "tea"]
        assert len(paid) == 2 and paid[1]["group"] == share.rsplit("/", 1)[1]
    finally:
        leader.close()
        friend.close()


def test_a_tiered_price_page_in_english(browser, site):
    context, page = phone(browser, wechat_agent("en"), locale="en-US")
    try:
        page.goto(f"{site.url}/h5/tiered/pot")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.locator("[data-test=tiers]")).to_contain_text("From 3 people")
        sign_in_in_wechat(page)
        page.click("[data-test=to-mall]")
        expect(page.locator("[data-test=joined]")).to_contain_text("You take part")
        expect(page.locator("[data-test=offer]")).to_contain_text("Taking part: 1")
        shot(page, "tiered-joined-en")
    finally:
        context.close()
