"""WeCom in the browser: `siyu serve` configured for a fake WeCom server receives encrypted
callbacks; the WeCom page shows them, a loss alert, and a full re-sync run by the job worker."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import httpx
import pytest
from argon2 import PasswordHasher
from playwright.sync_api import expect

from siyu.core.db import unit_of_work
from siyu.staff.service import create_staff
from siyu.users import service as user_service
from tests.e2e.conftest import PASSWORD, Console, own_database, serving
from tests.wecom.conftest import AES_KEY, TOKEN, added, encrypted_post
from tests.wecom.fake_server import CORP_ID, CORP_SECRET, FakeTencent


@pytest.fixture(scope="module")
def wecom_site(database_url, tmp_path_factory) -> Iterator[tuple[str, str, FakeTencent]]:
    """Its own `siyu serve` and database, pointed at a fake WeCom on 127.0.0.1."""
    home = tmp_path_factory.mktemp("e2e-wecom")
    with own_database(database_url, home, "wecom") as url, FakeTencent() as fake:
        env = {
            **os.environ,
            "SIYU_DATABASE_URL": url,
            "SIYU_LAKE": str(home / "lake"),
            "SIYU_LOCALE": "zh-CN",
            "SIYU_WECOM_TOKEN": TOKEN,
            "SIYU_WECOM_AES_KEY": AES_KEY,
            "SIYU_WECOM_CORP_ID": CORP_ID,
            "SIYU_WECOM_SECRET": CORP_SECRET,
            "SIYU_WECOM_API_BASE": fake.wecom_base,
        }
        with serving(env, home) as site:
            with unit_of_work(url) as s, pytest.MonkeyPatch.context() as patch:
                patch.setattr(
                    user_service, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024)
                )
                manager = create_staff(s, "王店长", "manager", wecom_userid="wang")
                guide = create_staff(s, "张导购", "guide", wecom_userid="zhang")
                guide.manager_id = manager.id
                user_service.create_user(s, "ops@brand.cn", PASSWORD, "operator", "运营小李")
            yield site, url, fake


def post(site: str, fields: dict) -> httpx.Response:
    query, body = encrypted_post(fields)
    return httpx.post(f"{site}/wecom/callback", params=query, content=body)


def test_callbacks_losses_and_a_sync_on_the_wecom_page(browser, wecom_site, request):
    site, _, fake = wecom_site
    fake.state.add_contact("wm-lin", "林女士", "zhang")
    fake.state.add_contact("wm-zhou", "周先生", "zhang")
    now = int(time.time())
    # Two customers add one guide in the same second; one later deletes the guide.
    for external in ("wm-lin", "wm-zhou"):
        answer = post(site, added(external, "zhang", welcome=f"W-{external}", at=now))
        assert answer.status_code == 200 and answer.text == "success"
    lost = {
        "CreateTime": now + 5,
        "Event": "change_external_contact",
        "ChangeType": "del_follow_user",
        "UserID": "zhang",
        "ExternalUserID": "wm-zhou",
    }
    assert post(site, lost).text == "success"

    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    context.set_default_timeout(10_000)
    console = Console(context.new_page(), site, request.node.name)
    page = console.page
    try:
        console.sign_in("ops@brand.cn")
        deadline = time.monotonic() + 30
        while True:  # the job worker applies the callbacks within a second or two
            console.open("/wecom")
            if page.locator("[data-test=loss-row]").count() == 1 or time.monotonic() > deadline:
                break
            time.sleep(1)
        expect(page.locator("[data-test=loss-row]")).to_contain_text("客户删除了导购")
        expect(page.locator("[data-test=loss-row]")).to_contain_text("王店长")
        expect(page.locator("[data-test=callback-row]")).to_have_count(3)
        expect(page.locator("[data-test=callback-ok]")).to_be_visible()

        console.submit("[data-test=start-sync]", "sync-queued")
        expect(page.locator("[data-test=sync-status]")).to_have_text("同步已完成", timeout=30_000)
        console.shot("sync-finished")
        expect(page.locator("[data-test=sync-numbers]")).to_contain_text("2 位客户")
        console.submit("[data-test=lang-switch]", "wecom-english")
        expect(page.locator("[data-test=loss-row]")).to_contain_text(
            "The customer deleted the guide"
        )
    finally:
        context.close()
