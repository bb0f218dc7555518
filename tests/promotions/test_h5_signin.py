"""Signing in on the customer pages: WeChat web authorisation against a fake WeChat, and a code
by SMS through a fake provider; forged cookies and states, expiry, wrong codes, rate limits."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from siyu.core.db import unit_of_work, utcnow
from siyu.core.settings import reset_settings
from siyu.customers.models import Identity
from siyu.promotions import coupon_templates, h5_signin
from siyu.promotions.h5_models import H5PhoneCode
from siyu.promotions.models import Coupon
from tests.messaging.fake_sms import ALIYUN_KEY_ID, ALIYUN_SECRET, FakeSms
from tests.promotions.fake_wechat_oauth import APP_ID, APP_SECRET, FakeWechatOAuth

WECHAT_AGENT = "Mozilla/5.0 (iPhone) MicroMessenger/8.0.50 Language/zh_CN"


@pytest.fixture
def wechat(monkeypatch) -> Iterator[FakeWechatOAuth]:
    with FakeWechatOAuth() as fake:
        for name, value in {
            "SIYU_WECHAT_APP_ID": APP_ID,
            "SIYU_WECHAT_SECRET": APP_SECRET,
            "SIYU_WECHAT_API_BASE": f"{fake.base}/cgi-bin/",
            "SIYU_WECHAT_OAUTH_BASE": f"{fake.base}/connect/",
        }.items():
            monkeypatch.setenv(name, value)
        reset_settings()
        yield fake


@pytest.fixture
def sms(monkeypatch) -> Iterator[FakeSms]:
    with FakeSms() as fake:
        for name, value in {
            "SIYU_SMS_PROVIDER": "aliyun",
            "SIYU_ALIYUN_ACCESS_KEY_ID": ALIYUN_KEY_ID,
            "SIYU_ALIYUN_ACCESS_KEY_SECRET": ALIYUN_SECRET,
            "SIYU_SMS_ENDPOINT": fake.endpoint,
            "SIYU_SMS_CODE_TEMPLATE": "SMS_CODE_1",
            "SIYU_SMS_SIGN_NAME": "思域",
        }.items():
            monkeypatch.setenv(name, value)
        reset_settings()
        yield fake


@pytest.fixture
def template() -> str:
    with unit_of_work() as s:
        coupon_templates.create_template(
            s,
            "welcome",
            "新人券",
            "amount",
            amount_fen=1000,
            stock=5,
            claimable=True,
            valid_days=30,
        )
    return "/h5/coupons/welcome"


def csrf(client, page: str) -> str:
    client.get(page)
    return client.cookies.get("siyu_h5_csrf")


def sign_in_by_wechat(client, wechat, page: str) -> httpx.Response:
    start = client.get(f"/h5/wechat?next={page}", follow_redirects=False)
    assert start.status_code == 302
    back = httpx.get(start.headers["location"].split("#")[0], follow_redirects=False)
    callback = back.headers["location"]
    return client.get(callback.replace("http://testserver", ""), follow_redirects=False)


def identities(customer_id: int) -> set[tuple[str, str]]:
    with unit_of_work() as s:
        rows = s.scalars(select(Identity).where(Identity.customer_id == customer_id))
        return {(row.type, row.value) for row in rows}


def signed_in_customer(client) -> int:
    with unit_of_work() as s:
        customer = h5_signin.signed_in(s, client.cookies.get(h5_signin.COOKIE))
        assert customer is not None
        return customer.id


def test_wechat_sign_in_names_the_customer_by_openid_and_unionid(client, wechat, template):
    wechat.state.next_ids.append(("o-leader", "u-leader"))
    answer = sign_in_by_wechat(client, wechat, template)
    assert answer.status_code == 303 and answer.headers["location"] == template
    assert wechat.state.scopes == ["snsapi_base"]
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Max-Age" in cookie
    customer = signed_in_customer(client)
    assert identities(customer) == {("wechat_openid", "o-leader"), ("wechat_unionid", "u-leader")}
    page = client.get(template, headers={"user-agent": WECHAT_AGENT})
    assert 'action="/h5/coupons/welcome/claim"' in page.text


def test_the_same_openid_signs_in_as_the_same_customer(client, wechat, template):
    wechat.state.next_ids.extend([("o-same", None), ("o-same", None)])
    sign_in_by_wechat(client, wechat, template)
    first = signed_in_customer(client)
    client.cookies.clear()
    sign_in_by_wechat(client, wechat, template)
    assert signed_in_customer(client) == first


def test_a_forged_state_or_a_used_code_signs_no_one_in(client, wechat, template):
    code = wechat.code_for("o-someone")
    forged = client.get(f"/h5/wechat/callback?code={code}&state=2f68352f.9999999999.00")
    assert forged.status_code == 401 and 'data-field="state"' in forged.text
    start = client.get(f"/h5/wechat?next={template}", follow_redirects=False)
    state = re.search(r"state=([^&#]+)", start.headers["location"]).group(1)
    used = client.get(f"/h5/wechat/callback?code=never-issued&state={state}")
    assert used.status_code == 401 and 'data-field="code"' in used.text
    assert h5_signin.COOKIE not in client.cookies


def test_a_state_cannot_send_the_customer_to_another_site(client, wechat):
    answer = sign_in_by_wechat(client, wechat, "https://evil.example/")
    assert answer.headers["location"] == "/h5/"


def test_a_forged_or_expired_cookie_is_a_stranger(client, template):
    with unit_of_work() as s:
        key = h5_signin.secret(s)
    client.cookies.set(h5_signin.COOKIE, "1.9999999999.0000", path="/h5")
    assert "sign-in" in client.get(template).text
    expired = h5_signin.sign(key, "session", "1", 1000)
    client.cookies.set(h5_signin.COOKIE, expired, path="/h5")
    assert 'data-test="sign-in"' in client.get(template).text


def ask_code(client, page: str, phone: str = "13700000001"):
    token = csrf(client, page)
    return client.post("/h5/phone/code", data={"phone": phone, "next": page, "csrf_token": token})


def verify(client, page: str, code: str, phone: str = "13700000001"):
    token = client.cookies.get("siyu_h5_csrf")
    form = {"phone": phone, "code": code, "next": page, "csrf_token": token}
    return client.post("/h5/phone/verify", data=form, follow_redirects=False)


def test_a_code_by_sms_signs_the_phone_in(client, sms, template):
    assert ask_code(client, template).status_code == 200
    [sent] = sms.state.sent()
    assert (sent.phone, sent.template, sent.sign_name) == ("13700000001", "SMS_CODE_1", "思域")
    code = sent.params["code"]
    assert re.fullmatch(r"\d{6}", code)
    with unit_of_work() as s:
        assert code not in s.scalar(select(H5PhoneCode.code_hash))
    answer = verify(client, template, code)
    assert answer.status_code == 303 and answer.headers["location"] == template
    assert ("phone", "13700000001") in identities(signed_in_customer(client))
    again = verify(client, template, code)  # a code is used once
    assert again.status_code == 404


def test_a_wrong_code_is_refused_and_five_tries_end_the_code(client, sms, template):
    ask_code(client, template)
    code = sms.state.sent()[0].params["code"]
    wrong = "000000" if code != "000000" else "111111"
    first = verify(client, template, wrong)
    assert first.status_code == 401 and 'data-field="code"' in first.text
    for _ in range(4):
        verify(client, template, wrong)
    assert verify(client, template, code).status_code == 401
    assert h5_signin.COOKIE not in client.cookies


def test_an_expired_code_is_refused(client, sms, template):
    ask_code(client, template)
    code = sms.state.sent()[0].params["code"]
    with unit_of_work() as s:
        s.execute(update(H5PhoneCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert verify(client, template, code).status_code == 401


def test_codes_are_limited_per_phone_and_per_address(client, sms, template):
    ask_code(client, template)
    again = ask_code(client, template)
    assert again.status_code == 429 and 'data-field="phone"' in again.text
    other = ask_code(client, template, "13700000002")  # same address, another phone
    assert other.status_code == 429
    assert len(sms.state.sent()) == 1


def test_a_bad_phone_or_a_missing_csrf_token_is_a_4xx_naming_the_field(client, sms, template):
    bad = ask_code(client, template, "12345")
    assert bad.status_code == 400 and 'data-field="phone"' in bad.text
    forged = client.post("/h5/phone/code", data={"phone": "13700000003", "next": template})
    assert forged.status_code == 403 and 'data-field="csrf_token"' in forged.text
    assert sms.state.sent() == []


def test_without_sms_or_wechat_the_page_says_so_and_the_log_names_the_setting(
    client, template, caplog
):
    page = client.get(template, headers={"user-agent": WECHAT_AGENT})
    assert page.status_code == 200 and 'data-test="sign-in"' in page.text
    assert "/h5/phone/code" not in page.text and "/h5/wechat" not in page.text
    with caplog.at_level(logging.WARNING, "siyu.promotions.h5"):
        asked = ask_code(client, template)
    assert asked.status_code == 409 and 'data-field="phone"' in asked.text
    assert "SIYU_SMS_PROVIDER" in caplog.text
    with caplog.at_level(logging.WARNING, "siyu.promotions.h5"):
        client.get(f"/h5/wechat?next={template}")
    assert "SIYU_WECHAT_APP_ID" in caplog.text


def test_a_signed_in_customer_claims_once(client, sms, template):
    ask_code(client, template)
    verify(client, template, sms.state.sent()[0].params["code"])
    token = client.cookies.get("siyu_h5_csrf")
    claimed = client.post(f"{template}/claim", data={"csrf_token": token}, follow_redirects=False)
    assert claimed.status_code == 303
    again = client.post(f"{template}/claim", data={"csrf_token": token})
    assert again.status_code == 409 and 'data-field="key"' in again.text
    with unit_of_work() as s:
        assert len(s.scalars(select(Coupon)).all()) == 1


def test_opening_the_page_and_claiming_are_the_customers_own_acts(client, sms, template):
    from siyu.events.catalogue import is_customer_act
    from siyu.events.models import OutboxEvent

    client.get(template)  # a stranger: no one to record it for
    ask_code(client, template)
    verify(client, template, sms.state.sent()[0].params["code"])
    client.get(template)
    token = client.cookies.get("siyu_h5_csrf")
    client.post(f"{template}/claim", data={"csrf_token": token})
    customer = signed_in_customer(client)
    with unit_of_work() as s:
        rows = s.scalars(select(OutboxEvent).where(OutboxEvent.customer_id == customer)).all()
        done = sorted(row.event for row in rows)
    assert done.count("Promotion Page Viewed") == 2  # the page, and again after the claim
    assert "Coupon Claimed" in done and "Coupon Issued" in done
    assert is_customer_act("Coupon Claimed") and is_customer_act("Promotion Page Viewed")
    assert not is_customer_act("Coupon Issued")


@pytest.mark.parametrize("value", ["%ff%fe", "x" * 300, "-1", "%00", "..%2F..%2Fetc"])
def test_hostile_values_get_a_4xx_page_never_a_server_error(client, value):
    for path in ("coupons", "flash", "groups", "g", "tiered"):
        answer = client.get(f"/h5/{path}/{value}")
        assert 400 <= answer.status_code < 500, (path, answer.status_code)
    for query in (f"next={value}", f"code={value}&state={value}"):
        assert client.get(f"/h5/wechat?{query}").status_code < 500
        assert client.get(f"/h5/wechat/callback?{query}").status_code < 500
    assert client.post("/h5/phone/verify", data={"code": value}).status_code == 403


def test_a_place_is_paid_in_the_mall_and_without_one_the_page_says_what_to_tell_the_store(
    client, wechat, monkeypatch, caplog
):
    from siyu.promotions import group_buys
    from siyu.promotions.models import GroupMember

    now = utcnow()
    with unit_of_work() as s:
        group_buys.create_group_buy(
            s,
            "tea",
            "两人拼 龙井",
            "TEA-250",
            5900,
            2,
            24,
            now - timedelta(hours=1),
            now + timedelta(days=1),
        )
    sign_in_by_wechat(client, wechat, "/h5/groups/tea")
    with caplog.at_level(logging.WARNING, logger="siyu.promotions.h5"):
        page = client.get("/h5/groups/tea")
    assert page.status_code == 200 and 'data-test="to-mall"' not in page.text
    assert "告诉门店" in page.text and "tea" in page.text  # what to tell the store
    assert "SIYU_MALL_URL" in caplog.text  # and the log names the setting
    assert client.post("/h5/groups/tea/open", data={}).status_code == 404  # no unpaid places
    monkeypatch.setenv("SIYU_MALL_URL", "https://mall.example.com/buy?from=siyu")
    reset_settings()
    linked = client.get("/h5/groups/tea").text
    href = re.search(r'href="([^"]+)" data-test="to-mall"', linked)
    assert href is not None
    link = href.group(1).replace("&amp;", "&")
    customer = signed_in_customer(client)
    assert link.startswith("https://mall.example.com/buy?from=siyu&group_buy=tea&")
    assert f"customer={customer}" in link and "back=" in link
    with unit_of_work() as s:
        assert s.scalars(select(GroupMember)).all() == []  # nothing taken before a payment


def test_a_member_sees_their_tier_and_points_and_spends_points_on_a_coupon(client, wechat):
    from siyu.promotions import members, points

    with unit_of_work() as s:
        members.set_settings(s, 1, "spend", 365)
        members.save_tier(s, "silver", "银卡", 15000, benefits="生日月双倍积分")
        coupon_templates.create_template(
            s, "tea-5", "5 元茶饮券", "amount", amount_fen=500, valid_days=30
        )
        points.set_reward(s, "tea-5", 50)
    sign_in_by_wechat(client, wechat, "/h5/me")
    customer = signed_in_customer(client)
    with unit_of_work() as s:
        points.adjust(s, customer, 80, "门店活动补发")
    page = client.get("/h5/me")
    assert page.status_code == 200
    card = re.sub(r"<[^>]+>", " ", page.text)
    assert "积分" in card and " 80 " in card
    assert "再消费 ¥150.00 升级为银卡" in card
    token = client.cookies.get("siyu_h5_csrf")
    spent = client.post("/h5/me/spend", data={"csrf_token": token, "reward": "tea-5"})
    assert spent.status_code == 200  # back on the page, after the redirect
    with unit_of_work() as s:
        code = s.scalar(select(Coupon.code).where(Coupon.customer_id == customer))
    assert code is not None and code in spent.text and " 30 " in re.sub(r"<[^>]+>", " ", spent.text)
    again = client.post("/h5/me/spend", data={"csrf_token": token, "reward": "tea-5"})
    assert again.status_code == 409 and "积分" in again.text  # 30 points buy no second one
    stranger = client.post("/h5/me/spend", data={"reward": "tea-5"})
    assert stranger.status_code == 403  # no CSRF token: nothing spent
