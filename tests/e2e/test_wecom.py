"""WeCom in the browser: `siyu serve` configured for a fake WeCom server receives encrypted
callbacks; the WeCom page shows them, a loss alert, and a full re-sync run by the job worker."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest
from argon2 import PasswordHasher
from playwright.sync_api import expect
from sqlalchemy import text

from siyu.core import db
from siyu.core.db import unit_of_work
from siyu.staff.service import create_staff
from siyu.users import service as user_service
from tests.e2e.conftest import (
    PASSWORD,
    Console,
    _free_port,
    _siyu_command,
    _wait_until_up,
)
from tests.wecom.conftest import AES_KEY, TOKEN, added, encrypted_post
from tests.wecom.fake_server import CORP_ID, CORP_SECRET, FakeTencent


@pytest.fixture(scope="module")
def wecom_site(database_url, tmp_path_factory) -> Iterator[tuple[str, str, FakeTencent]]:
    """Its own `siyu serve` and database, pointed at a fake WeCom on 127.0.0.1."""
    home = tmp_path_factory.mktemp("e2e-wecom")
    if database_url.startswith("sqlite"):
        url, schema = f"sqlite:///{home / 'siyu.db'}", None
    else:
        suite = re.search(r"search_path%3D(\w+)", database_url).group(1)
        schema = f"{suite}_wecom"
        with db.get_engine(database_url).begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        url = database_url.replace(f"search_path%3D{suite}", f"search_path%3D{schema}")
    with FakeTencent() as fake:
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
        port, log = _free_port(), home / "serve.log"
        command = [_siyu_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
        with log.open("wb") as out:
            process = subprocess.Popen(command, env=env, cwd=home, stdout=out, stderr=out)
        site = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(process, site, log)
            with unit_of_work(url) as s, pytest.MonkeyPatch.context() as patch:
                patch.setattr(
                    user_service, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024)
                )
                manager = create_staff(s, "王店长", "manager", wecom_userid="wang")
                guide = create_staff(s, "张导购", "guide", wecom_userid="zhang")
                guide.manager_id = manager.id
                user_service.create_user(s, "ops@brand.cn", PASSWORD, "operator", "运营小李")
            yield site, url, fake
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            db.dispose_engines()
            if schema:
                with db.get_engine(database_url).begin() as conn:
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


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
