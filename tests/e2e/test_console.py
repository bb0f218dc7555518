"""The console in a browser: sign in, language, settings, a guide's limits, customers, imports."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from siyu.core.db import unit_of_work
from siyu.customers.service import find_customer


def _page_exists(response, what: str) -> None:
    """Pages other engineers are still building fail with a message that says which is missing."""
    if response is None or response.status == 404:
        pytest.fail(f"the {what} page is missing: it answered {response and response.status}")


def test_wrong_password_is_refused_and_the_right_one_lands_on_the_dashboard(console, brand):
    console.open("/")
    assert "/login" in console.page.url
    console.page.fill("#email", brand.admin)
    console.page.fill("#password", "not the password")
    console.submit("button[type=submit]", "wrong-password")
    assert "邮箱或密码错误" in console.page.inner_text("[role=alert]")
    console.page.fill("#password", brand.password)
    console.submit("button[type=submit]", "dashboard")
    assert console.page.url == f"{brand.url}/"
    assert "管理员小王" in console.page.inner_text(".topbar")


def test_language_choice_survives_signing_out_and_in(console, brand):
    console.sign_in(brand.admin)
    assert console.lang == "zh-CN" and "客户" in console.page.inner_text(".nav")
    console.submit("[data-test=lang-switch]", "english")
    assert console.lang == "en" and "Customers" in console.page.inner_text(".nav")
    console.sign_out()
    console.page.context.clear_cookies()  # only the user's own record remembers the choice now
    console.sign_in(brand.admin)
    assert console.lang == "en"
    console.submit("[data-test=lang-switch]", "chinese-again")
    assert console.lang == "zh-CN" and "客户" in console.page.inner_text(".nav")


def test_admin_makes_a_key_a_token_and_a_user_and_sees_them_audited(console, brand):
    page = console.page
    console.sign_in(brand.admin)
    console.open("/settings")
    assert page.locator("[data-test=settings-section]").count() == 6  # trait dictionary too

    console.open("/settings/keys")
    page.fill("#key-name", "小程序")
    console.submit("text=创建写入密钥", "key-created")
    key = page.input_value("[data-test=secret-value]")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=brand.url)
    page.click("[data-copy]")
    expect(page.locator("[data-copy]")).to_have_text("已复制")
    assert page.evaluate("navigator.clipboard.readText()") == key
    event = {"type": "track", "event": "Viewed", "userId": "c-wang", "messageId": "e2e-key"}
    assert httpx.post(f"{brand.url}/v1/track", json=event, auth=(key, "")).status_code == 200

    console.open("/settings/tokens")
    page.fill("#token-name", "BI 导出")
    page.select_option("#token-role", "analyst")
    console.submit("text=创建令牌", "token-created")
    secret = page.input_value("[data-test=secret-value]")
    customer = brand.customers["c-zhao"]
    bearer = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(f"{brand.url}/api/customers/{customer}", headers=bearer).status_code == 200

    console.open("/settings/users")
    page.fill("#user-email", brand.admin)
    page.fill("#user-password", brand.password)
    console.submit("text=创建账号", "user-refused")
    assert page.inner_text("[data-test=form-error]") == "邮箱：该邮箱已有账号"
    page.fill("#user-email", "li.guide@brand.cn")
    page.fill("#user-name", "李导购")
    page.fill("#user-password", brand.password)
    page.select_option("#user-role", "guide")
    page.select_option("#user-staff", str(brand.staff["li"]))
    console.submit("text=创建账号", "user-created")
    assert re.search(r"/settings/users/\d+", page.url)
    assert page.inner_text("[data-test=user-role]") == "导购"

    console.open("/settings/audit?entity=api_tokens")
    newest = page.locator("[data-test=audit-row]").first.inner_text()
    assert brand.admin in newest and "BI 导出" in newest


def test_a_guide_cannot_open_another_guides_customer(console, brand):
    console.sign_in(brand.guide)
    theirs, mine = brand.customers["c-zhao"], brand.customers["c-wang"]
    response = console.open(f"/customers/{theirs}")
    assert response.status == 404 and "未找到" in console.page.inner_text("h1")
    assert "赵磊" not in console.page.content()
    assert console.open(f"/customers/{mine}").status == 200
    bearer = {"Authorization": f"Bearer {brand.guide_token}"}
    assert httpx.get(f"{brand.url}/api/customers/{theirs}", headers=bearer).status_code == 404
    assert httpx.get(f"{brand.url}/api/customers/{mine}", headers=bearer).status_code == 200


def test_search_a_customer_by_phone_and_open_the_360(console, brand):
    page = console.page
    console.sign_in(brand.admin)
    _page_exists(console.open("/customers"), "customer list (/customers)")
    page.fill("[data-test=customer-search]", "13900002222")
    page.press("[data-test=customer-search]", "Enter")
    table = page.locator("[data-test=customer-table]")
    expect(table).to_contain_text("李娜")
    expect(table).not_to_contain_text("王小明")
    console.shot("search-by-phone")
    with page.expect_navigation():
        table.get_by_role("link", name=re.compile("李娜")).first.click()
    console.shot("customer-360")
    assert re.search(rf"/customers/{brand.customers['c-li']}$", page.url)
    assert "李娜" in page.inner_text("h1")


def test_upload_a_csv_of_customers_and_import_it(console, brand, tmp_path):
    page = console.page
    console.sign_in(brand.admin)
    _page_exists(console.open("/imports"), "imports (/imports)")
    csv = "phone,name,city\n13500005555,周杰,上海\n13500006666,吴芳,杭州\n"
    page.check("input[name=kind][value=customers]")
    page.set_input_files(
        "#import-file", files=[{"name": "会员.csv", "mimeType": "text/csv", "buffer": csv.encode()}]
    )
    console.submit("[data-test=upload-form] button[type=submit]", "uploaded")
    assert re.search(r"/imports/[\w-]+$", page.url), page.url
    console.submit("[data-test=check] >> nth=0", "checking")
    page.locator("[data-test=check-good]").wait_for(timeout=30_000)
    console.shot("checked")
    console.submit("[data-test=run]", "importing")
    page.locator("[data-test=result]").wait_for(timeout=30_000)
    console.shot("imported")
    with unit_of_work(brand.database) as s:
        assert find_customer(s, "13500005555").traits.get("name") == "周杰"
