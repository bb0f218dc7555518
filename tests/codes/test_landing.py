"""The QR landing: a scan is counted with its code, touchpoint and device, then redirected."""

from __future__ import annotations

import orjson
from sqlalchemy import select

from siyu.codes.landing import forget_cached
from siyu.codes.service import create_code
from siyu.core.db import unit_of_work
from siyu.core.settings import reset_settings
from siyu.events.models import OutboxEvent
from siyu.staff.models import Staff
from siyu.staff.routing import Route
from siyu.staff.service import create_staff, create_store, update_staff

IPHONE_WECHAT = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) MicroMessenger/8.0.44"


def _scans(session) -> list[OutboxEvent]:
    return list(session.scalars(select(OutboxEvent).where(OutboxEvent.event == "QR Code Scanned")))


def test_a_scan_is_recorded_and_redirected_to_the_target(client, session):
    with unit_of_work() as s:
        create_code(
            s, "Spring poster", code="sp-1", touchpoint="spring", target="https://mall.example/x"
        )
    response = client.get("/q/sp-1", headers={"User-Agent": IPHONE_WECHAT}, follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == "https://mall.example/x"
    (scan,) = _scans(session)
    properties = orjson.loads(scan.properties)
    assert scan.touchpoint == "spring"
    assert (properties["code"], properties["device"], properties["in_wechat"]) == (
        "sp-1",
        "iOS",
        True,
    )
    assert orjson.loads(scan.context)["userAgent"] == IPHONE_WECHAT
    # The same phone scanning again is the same anonymous visitor.
    client.get("/q/sp-1", follow_redirects=False)
    first, second = _scans(session)
    assert first.anonymous_id == second.anonymous_id


def test_a_contact_way_code_sends_the_phone_to_the_routed_guide(client, session):
    with unit_of_work() as s:
        guide = create_staff(s, "王芳", wecom_userid="wangfang")
        update_staff(s, guide.id, contact_way_url="https://work.weixin.qq.com/ca/wangfang")
        create_code(
            s,
            "Store code",
            code="st-1",
            target_kind="wecom_contact_way",
            target="https://work.weixin.qq.com/ca/store",
            routes=[Route(guide.id)],
        )
    response = client.get("/q/st-1", follow_redirects=False)
    assert response.headers["location"] == "https://work.weixin.qq.com/ca/wangfang"
    assert orjson.loads(_scans(session)[0].properties)["guide"] == "wangfang"


def test_an_unknown_code_is_a_404_and_records_nothing(client, session):
    assert client.get("/q/nope", follow_redirects=False).status_code == 404
    assert _scans(session) == []


def test_a_mini_program_path_is_shown_not_redirected(client):
    with unit_of_work() as s:
        create_code(s, "Menu", code="mp-1", target_kind="mini_program", target="pages/menu/index")
    response = client.get("/q/mp-1", follow_redirects=False)
    assert response.status_code == 200 and "pages/menu/index" in response.text


ZH_PHONE = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
EN_PHONE = {"Accept-Language": "en-GB,en;q=0.9"}


def _unserved_store_code() -> None:
    """A store code that should open WeCom, on a site where WeCom is not set up: no target."""
    with unit_of_work() as s:
        store = create_store(s, "sh01", "静安店", "上海")
        guide = create_staff(s, "王芳", store_id=store.id, wecom_userid="wangfang")
        create_code(
            s,
            "收银台",
            code="st-2",
            kind="store",
            store_id=store.id,
            target_kind="wecom_contact_way",
            routes=[Route(guide.id)],
        )


def test_a_code_that_cannot_be_served_shows_its_guide_and_store_in_the_phones_language(
    client, session
):
    _unserved_store_code()
    zh = client.get("/q/st-2", headers=ZH_PHONE, follow_redirects=False)
    assert zh.status_code == 200 and '<html lang="zh-CN">' in zh.text
    assert "王芳" in zh.text and "静安店 · 上海" in zh.text and "请找" in zh.text
    assert "Thank you" not in zh.text
    en = client.get("/q/st-2", headers=EN_PHONE, follow_redirects=False)
    assert '<html lang="en">' in en.text and "ask for them" in en.text
    # WeChat's own language wins over the browser's.
    wechat_en = IPHONE_WECHAT + " NetType/WIFI Language/en"
    picked = client.get("/q/st-2", headers={**ZH_PHONE, "User-Agent": wechat_en})
    assert '<html lang="en">' in picked.text
    assert len(_scans(session)) == 3  # every scan still counts


def test_a_guide_with_an_add_link_is_offered_as_a_qr_image_and_a_link(client):
    _unserved_store_code()
    with unit_of_work() as s:
        guide = s.scalar(select(Staff).where(Staff.wecom_userid == "wangfang"))
        guide.contact_way_url = "javascript:alert(1)"  # never linked, whatever is stored
    page = client.get("/q/st-2", headers=EN_PHONE)
    assert "javascript" not in page.text and "ask for them" in page.text
    forget_cached()
    with unit_of_work() as s:
        s.scalar(
            select(Staff).where(Staff.wecom_userid == "wangfang")
        ).contact_way_url = "https://work.weixin.qq.com/ca/wangfang"
    # A web address is where the phone is sent at once.
    sent = client.get("/q/st-2", follow_redirects=False)
    assert sent.headers["location"] == "https://work.weixin.qq.com/ca/wangfang"


def test_the_brand_page_and_official_account_are_offered_when_set(client, monkeypatch):
    monkeypatch.setenv("SIYU_BRAND_NAME", "山茶")
    monkeypatch.setenv("SIYU_BRAND_URL", "https://shancha.example/")
    monkeypatch.setenv("SIYU_WECHAT_FOLLOW_URL", "http://weixin.qq.com/r/abc")
    reset_settings()
    with unit_of_work() as s:
        create_code(s, "公众号海报", code="oa-1", target_kind="official_account_qr")
    page = client.get("/q/oa-1", headers=ZH_PHONE)
    assert "<title>山茶</title>" in page.text and "访问 山茶" in page.text
    assert 'href="https://shancha.example/"' in page.text
    assert 'data-test="official-account"' in page.text and "data:image/png;base64," in page.text
    assert 'data-test="none"' not in page.text


def test_a_code_with_nothing_to_offer_says_to_ask_the_staff(client):
    with unit_of_work() as s:
        create_code(s, "空码", code="empty-1")
    page = client.get("/q/empty-1", headers=EN_PHONE)
    assert page.status_code == 200 and 'data-test="none"' in page.text
    assert "ask a member of our staff" in page.text


def test_unknown_and_overlong_codes_are_a_404_in_the_phones_language(client, session):
    gone = client.get("/q/nope", headers=ZH_PHONE)
    assert gone.status_code == 404 and "已失效" in gone.text
    assert client.get("/q/" + "x" * 5000, headers=EN_PHONE).status_code == 404
    assert _scans(session) == []


def test_a_visitor_cookie_the_landing_did_not_make_is_replaced_not_a_server_error(client, session):
    with unit_of_work() as s:
        create_code(s, "A", code="ck-1", target="https://x.example/")

    def scan(value: str):
        client.cookies.clear()
        return client.get(
            "/q/ck-1", headers={"Cookie": f"siyu_aid={value}"}, follow_redirects=False
        )

    for value in ("null", "anonymous", "-1", "0000000000", "x" * 5000, "ABCDEF" * 6, "undefined"):
        answer = scan(value)
        assert answer.status_code == 302, value
        assert len(answer.cookies["siyu_aid"]) == 32
    kept = "0123456789abcdef0123456789abcdef"
    assert scan(kept).cookies["siyu_aid"] == kept
    assert _scans(session)[-1].anonymous_id == kept
