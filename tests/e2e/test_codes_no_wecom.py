"""A brand without WeCom makes a store code in the browser, in Chinese and in English: the code
page says which settings would connect WeCom, the QR code points to SIYU_PUBLIC_URL, and a
phone scanning it gets a page in its own language with the guide and the store, not a blank
thank-you."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from argon2 import PasswordHasher
from playwright.sync_api import expect

from siyu.codes.qr import qr_svg
from siyu.core.db import unit_of_work
from siyu.staff.service import create_staff, create_store
from siyu.users import service as user_service
from tests.e2e.conftest import PASSWORD, Console, own_database, serving

PUBLIC = "https://scan.shancha.example"
PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148"
)


@dataclass
class Site:
    url: str
    store_id: int
    guide_id: int


@pytest.fixture(scope="module")
def site(database_url, tmp_path_factory) -> Iterator[Site]:
    """Its own `siyu serve`: no WeCom or official-account settings, SIYU_PUBLIC_URL set."""
    home = tmp_path_factory.mktemp("e2e-codes")
    with own_database(database_url, home, "codes") as url:
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("SIYU_WECOM_", "SIYU_WECHAT_"))
        }
        env |= {
            "SIYU_DATABASE_URL": url,
            "SIYU_LAKE": str(home / "lake"),
            "SIYU_LOCALE": "zh-CN",
            "SIYU_PUBLIC_URL": PUBLIC,
        }
        with serving(env, home) as address:
            with unit_of_work(url) as s, pytest.MonkeyPatch.context() as patch:
                patch.setattr(
                    user_service, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024)
                )
                store = create_store(s, "sh01", "静安店", "上海")
                guide = create_staff(s, "王芳", "guide", store.id)  # personal WeChat: no UserID
                user_service.create_user(s, "ops@brand.cn", PASSWORD, "operator", "运营小李")
                made = Site(address, store.id, guide.id)
            yield made


def _create_store_code(console: Console, site: Site, name: str) -> str:
    page = console.page
    console.open("/codes")
    expect(page.locator("[data-test=platform-hint]").first).to_contain_text("SIYU_WECOM_CORP_ID")
    if page.locator("[data-test=new-code]").get_attribute("open") is None:
        page.click("[data-test=new-code] summary")  # folded once the brand has codes
    page.fill("#c-name", name)
    page.select_option("#c-kind", "store")
    page.select_option("#c-store", str(site.store_id))
    page.select_option("#c-staff", str(site.guide_id))
    page.select_option("#c-target-kind", "wecom_contact_way")
    console.submit("[data-test=create-code]", "code-created")
    return page.inner_text("[data-test=code]")


def _scan(browser, site: Site, code: str, locale: str, label: str):
    """A phone in `locale` scans the code: the landing's path, opened on this server."""
    phone = browser.new_context(
        viewport={"width": 390, "height": 800}, locale=locale, user_agent=PHONE
    )
    page = phone.new_page()
    answer = page.goto(f"{site.url}/q/{code}")
    page.screenshot(path=str(_shot(label)), full_page=True)
    assert answer is not None and answer.status == 200
    width = page.evaluate("document.documentElement.scrollWidth")
    return phone, page, width


def _shot(label: str):
    from tests.e2e.conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS / f"test_codes_no_wecom-{label}.png"


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_a_store_code_without_wecom_warns_and_its_scan_is_still_useful(
    browser, site, request, locale
):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    context.set_default_timeout(10_000)
    console = Console(context.new_page(), site.url, request.node.name)
    page = console.page
    try:
        console.sign_in("ops@brand.cn")
        if locale == "en":
            console.submit("[data-test=lang-switch]", "english")
        code = _create_store_code(console, site, f"静安店收银台 {locale}")
        # A code named for what it is, whose and when; never a random string.
        assert re.fullmatch(r"store-sh01-\d{4}w\d{2}(-\d+)?", code), code
        warning = page.locator("[data-test=platform-warning]")
        expected = "企业微信尚未连接" if locale == "zh-CN" else "WeCom is not connected"
        expect(warning).to_contain_text(expected)
        for setting in ("SIYU_WECOM_CORP_ID", "SIYU_WECOM_SECRET", "SIYU_WECOM_TOKEN"):
            expect(warning).to_contain_text(setting)
        # The QR code and its link point where customers reach Siyu, not where it was opened.
        expect(page.locator("[data-test=qr] code")).to_have_text(f"{PUBLIC}/q/{code}")
        expect(page.locator("[data-test=local-url]")).to_have_count(0)
        cookies = {c["name"]: c["value"] for c in context.cookies()}
        svg = httpx.get(f"{site.url}/codes/{code}/qr.svg", cookies=cookies).content
        assert svg == qr_svg(f"{PUBLIC}/q/{code}")
        png = httpx.get(f"{site.url}/codes/{code}/qr.png?download=1", cookies=cookies).content
        assert int.from_bytes(png[16:20], "big") >= 1000  # wide enough to print

        # Making the contact way says, in the console's language, what to set first.
        console.submit("[data-test=make-contact-way]", "contact-way-refused")
        expect(page.locator("[data-test=form-error]")).to_contain_text("SIYU_WECOM_SECRET")
        expect(page.locator("[data-test=form-error]")).to_contain_text(
            "企业微信尚未连接" if locale == "zh-CN" else "WeCom is not connected"
        )
    finally:
        context.close()
    assert console.refused == []

    phone, scanned, width = _scan(browser, site, code, locale, f"scan-{locale}")
    try:
        assert scanned.get_attribute("html", "lang") == locale
        expect(scanned.locator("[data-test=store]")).to_contain_text("静安店 · 上海")
        body = scanned.inner_text("body")
        assert "王芳" in body
        if locale == "zh-CN":
            assert "感谢扫码" in body and "请找" in body
            assert not re.search(r"[A-Za-z]{3,}", body), body  # no English on a Chinese page
        else:
            assert "Thank you for scanning" in body and "ask for them" in body
        assert width <= 390  # no sideways scrolling on a phone
    finally:
        phone.close()
