"""/wechat/callback: follows and scans through a scene QR are attributed to the code."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from siyu.cli import app
from siyu.codes.service import create_code, find_code
from siyu.core.db import session_factory, unit_of_work
from siyu.core.settings import reset_settings
from siyu.customers.service import customer_of
from siyu.events.models import OutboxEvent
from siyu.wechat.models import OfficialAccountCallback
from tests.console_support import csrf_of
from tests.wechat.conftest import event_xml, push, signed_query
from tests.wecom.conftest import TOKEN, run_jobs


@pytest.fixture
def menu_code(fake_wecom):
    with unit_of_work() as s:
        create_code(s, "Menu board", code="menu-sh01", target_kind="official_account_qr")
    fake_wecom.state.followers["o-lin"] = {"unionid": "union-lin"}


def events_named(session, name: str) -> list[OutboxEvent]:
    return list(session.scalars(select(OutboxEvent).where(OutboxEvent.event == name)))


def props(event: OutboxEvent) -> dict:
    return json.loads(event.properties) if isinstance(event.properties, str) else event.properties


def test_url_check_echoes_when_signed(client, fake_wecom):
    query = signed_query("1764400000", "42") | {"echostr": "hello-wechat"}
    assert client.get("/wechat/callback", params=query).text == "hello-wechat"
    query["nonce"] = "43"
    assert client.get("/wechat/callback", params=query).status_code == 401


@pytest.mark.parametrize("encrypted", [False, True])
def test_a_follow_through_a_scene_qr_is_attributed(post_wechat, session, menu_code, encrypted):
    response = post_wechat(event_xml("o-lin", "subscribe", "qrscene_menu-sh01"), encrypted)
    assert response.text == "success"
    run_jobs()
    followed = events_named(session, "Official Account Followed")
    assert [props(e)["touchpoint"] for e in followed] == ["menu-sh01"]
    customer = customer_of(session, "wechat_openid", "o-lin")
    assert customer.first_touchpoint == "menu-sh01"
    assert customer_of(session, "wechat_unionid", "union-lin").id == customer.id


def test_a_followers_scan_is_a_scan_of_the_code(post_wechat, session, menu_code):
    post_wechat(event_xml("o-lin", "SCAN", "menu-sh01"))
    run_jobs()
    scanned = events_named(session, "QR Code Scanned")
    assert props(scanned[0])["touchpoint"] == "menu-sh01"
    assert events_named(session, "Official Account Followed") == []


def test_a_retried_push_stores_nothing_new(post_wechat, session, menu_code):
    xml = event_xml("o-lin", "subscribe", "qrscene_menu-sh01")
    post_wechat(xml)
    post_wechat(xml)
    assert session.scalar(select(func.count()).select_from(OfficialAccountCallback)) == 1


def test_an_unsigned_push_is_refused(client, session, menu_code):
    query = {"signature": "0" * 40, "timestamp": "1", "nonce": "2"}
    response = client.post("/wechat/callback", params=query, content=event_xml("o", "subscribe"))
    assert response.status_code == 401
    assert session.scalar(select(func.count()).select_from(OfficialAccountCallback)) == 0


def test_scene_qr_is_made_per_code_and_becomes_its_target(menu_code, fake_wecom):
    result = CliRunner().invoke(app, ["wechat", "qr", "menu-sh01", "--json"])
    assert result.exit_code == 0, result.output
    body = fake_wecom.state.calls_to("qrcode/create")[0].body
    assert body["action_info"]["scene"]["scene_str"] == "menu-sh01"
    assert body["action_name"] == "QR_LIMIT_STR_SCENE"
    with session_factory()() as s:
        assert find_code(s, "menu-sh01").target.startswith("http://weixin.qq.com/q/")
    again = CliRunner().invoke(app, ["wechat", "qr", "menu-sh01", "--json"])
    assert again.exit_code == 0 and len(fake_wecom.state.calls_to("qrcode/create")) == 1


def test_an_operator_makes_the_scene_qr_from_the_code_page(menu_code, fake_wecom, signed_in):
    assert 'data-test="make-scene-qr"' not in signed_in("analyst").get("/codes/menu-sh01").text
    operator = signed_in("operator")
    page = operator.get("/codes/menu-sh01").text
    assert 'data-test="make-scene-qr"' in page
    made = operator.post(
        "/codes/menu-sh01/scene-qr", data={"csrf_token": csrf_of(page)}, follow_redirects=False
    )
    assert made.status_code == 303 and made.headers["location"].endswith("done=scene-qr")
    body = fake_wecom.state.calls_to("qrcode/create")[0].body
    assert body["action_info"]["scene"]["scene_str"] == "menu-sh01"
    shown = operator.get("/codes/menu-sh01").text
    assert 'data-test="make-scene-qr"' not in shown and "http://weixin.qq.com/q/" in shown


def stored(session) -> int:
    return session.scalar(select(func.count()).select_from(OfficialAccountCallback))


def test_in_safe_mode_a_plain_push_is_refused(client, session, menu_code):
    # fake_wecom configures SIYU_WECHAT_AES_KEY: the account is in safe mode.
    query, body = push(event_xml("o-lin", "subscribe", "qrscene_menu-sh01"), encrypted=False)
    response = client.post("/wechat/callback", params=query, content=body)
    assert response.status_code == 401
    assert response.json()["error"]["field"] == "msg_signature"
    assert stored(session) == 0


def test_in_safe_mode_a_push_with_a_wrong_msg_signature_is_refused(client, session, menu_code):
    query, body = push(event_xml("o-lin", "subscribe"), encrypted=True)
    response = client.post(
        "/wechat/callback", params={**query, "msg_signature": "0" * 40}, content=body
    )
    assert response.status_code == 401
    assert stored(session) == 0


def test_in_safe_mode_the_encrypted_copy_is_what_counts(client, session, menu_code):
    # Compatible mode (兼容模式) sends a plain copy beside the ciphertext: only the ciphertext
    # is signed, so a plain copy changed on the way is ignored.
    query, sealed = push(event_xml("o-lin", "subscribe", "qrscene_menu-sh01"), encrypted=True)
    forged = sealed.replace("<xml>", "<xml><FromUserName><![CDATA[o-mallory]]></FromUserName>")
    assert client.post("/wechat/callback", params=query, content=forged).text == "success"
    assert session.scalar(select(OfficialAccountCallback)).fields["openid"] == "o-lin"


@pytest.mark.parametrize("off", [-330, 330])
def test_a_push_signed_more_than_five_minutes_away_is_refused(client, session, menu_code, off):
    stale = str(int(time.time()) + off)
    query, body = push(event_xml("o-lin", "subscribe"), encrypted=True, timestamp=stale)
    response = client.post("/wechat/callback", params=query, content=body)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "stale_timestamp"
    assert stored(session) == 0


def test_a_replayed_push_is_refused_by_its_nonce(client, session, menu_code):
    query, body = push(event_xml("o-lin", "subscribe"), encrypted=True)
    assert client.post("/wechat/callback", params=query, content=body).text == "success"
    replayed = client.post("/wechat/callback", params=query, content=body)
    assert replayed.status_code == 401
    assert replayed.json()["error"] | {"message": ""} == {
        "code": "replayed",
        "field": "nonce",
        "message": "",
    }
    assert stored(session) == 1


def test_without_a_key_a_body_that_is_not_text_names_the_field(client, session, monkeypatch):
    monkeypatch.setenv("SIYU_WECHAT_TOKEN", TOKEN)
    reset_settings()
    query, _ = push("", encrypted=False)
    response = client.post("/wechat/callback", params=query, content=b"<xml>\xff\xfe</xml>")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "body"
