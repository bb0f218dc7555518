"""/wecom/callback: Tencent's published vectors, storing before answering, natural-key dedup."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from siyu.core.jobs import Job
from siyu.core.settings import reset_settings
from siyu.wecom.callbacks import natural_key
from siyu.wecom.models import WecomCallback
from tests.wecom.conftest import added, encrypted_post

# WeCom's 加解密方案说明 example (corp wx5823bf96d3bd56c7).
VECTOR_TOKEN = "QDG6eK"
VECTOR_AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
VECTOR_CORP_ID = "wx5823bf96d3bd56c7"
VERIFY = {
    "msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
    "timestamp": "1409659589",
    "nonce": "263014780",
    "echostr": (
        "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
    ),
}
POST_QUERY = {
    "msg_signature": "477715d11cdb4164915debcba66cb864d751f3e6",
    "timestamp": "1409659813",
    "nonce": "1372623149",
}
POST_BODY = (
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA["
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3Qczc"
    "dCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLj"
    "vd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMn"
    "vw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k"
    "22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2Yoy"
    "yH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>"
)


@pytest.fixture
def tencent_vector(monkeypatch):
    monkeypatch.setenv("SIYU_WECOM_TOKEN", VECTOR_TOKEN)
    monkeypatch.setenv("SIYU_WECOM_AES_KEY", VECTOR_AES_KEY)
    monkeypatch.setenv("SIYU_WECOM_CORP_ID", VECTOR_CORP_ID)
    reset_settings()
    # The vectors were signed in 2014: the server's clock is set to when they were sent.
    sent = datetime.fromtimestamp(int(POST_QUERY["timestamp"]), UTC)
    monkeypatch.setattr("siyu.wecom.api.utcnow", lambda: sent)


def stored(session) -> int:
    return session.scalar(select(func.count()).select_from(WecomCallback))


def test_url_verification_answers_tencents_echo(client, tencent_vector):
    response = client.get("/wecom/callback", params=VERIFY)
    assert response.status_code == 200
    assert response.text == "1616140317555161061"


def test_url_verification_with_a_wrong_signature_is_refused(client, tencent_vector):
    response = client.get("/wecom/callback", params={**VERIFY, "nonce": "263014781"})
    assert response.status_code == 401
    assert response.json()["error"]["field"] == "msg_signature"


def test_tencents_encrypted_message_is_decrypted_and_stored(client, session, tencent_vector):
    response = client.post("/wecom/callback", params=POST_QUERY, content=POST_BODY)
    assert response.status_code == 200 and response.text == "success"
    callback = session.scalar(select(WecomCallback))
    assert callback.fields["FromUserName"] == "mycreate"
    assert callback.fields["Content"] == "hello"
    assert callback.fields["MsgId"] == "4561255354251345929"


def test_a_tampered_message_stores_nothing(client, session, tencent_vector):
    query = {**POST_QUERY, "timestamp": "1409659814"}
    response = client.post("/wecom/callback", params=query, content=POST_BODY)
    assert response.status_code == 401
    assert stored(session) == 0


def test_callback_without_configuration_says_what_to_set(client):
    response = client.get("/wecom/callback", params=VERIFY)
    assert response.status_code == 503
    assert "SIYU_WECOM_TOKEN" in response.json()["error"]["message"]


def test_callback_is_stored_and_queued_before_it_is_processed(post_callback, session):
    response = post_callback(added("wm-a", "guide1", state="c1", welcome="W1"))
    assert response.status_code == 200 and response.text == "success"
    callback = session.scalar(select(WecomCallback))
    assert (callback.change_type, callback.status) == ("add_external_contact", "queued")
    job = session.scalar(select(Job).where(Job.kind == "wecom.callback"))
    assert job.payload == {"callback_id": callback.id}


def test_replayed_callback_stores_nothing_new(post_callback, session):
    fields = added("wm-a", "guide1", state="c1", welcome="W1")
    post_callback(fields)
    # WeCom retries with a fresh nonce and fresh ciphertext: the content is the same event.
    assert post_callback(fields).text == "success"
    assert stored(session) == 1
    assert session.scalar(select(func.count()).select_from(Job)) == 1


def test_two_adds_to_one_guide_in_the_same_second_are_both_stored(post_callback, session):
    post_callback(added("wm-a", "guide1", at=1764400000))
    post_callback(added("wm-b", "guide1", at=1764400000))
    assert stored(session) == 2


def test_a_readd_later_is_a_new_event():
    first = natural_key(added("wm-a", "guide1", at=1764400000))
    later = natural_key(added("wm-a", "guide1", at=1764400900))
    assert first != later
    assert "wm-a" in first and "guide1" in first


def test_group_changes_are_keyed_by_member_version():
    chat = {
        "Event": "change_external_chat",
        "ChangeType": "update",
        "ChatId": "wr1",
        "UpdateDetail": "add_member",
        "CreateTime": "1764400000",
    }
    assert natural_key({**chat, "CurMemVer": "v2"}) != natural_key({**chat, "CurMemVer": "v3"})


def test_encrypted_post_with_another_corp_id_is_refused(client, fake_wecom, monkeypatch, session):
    query, body = encrypted_post(added("wm-a", "guide1"))
    monkeypatch.setenv("SIYU_WECOM_CORP_ID", "ww-someone-else")
    reset_settings()
    response = client.post("/wecom/callback", params=query, content=body)
    assert response.status_code == 401
    assert stored(session) == 0


def post_sealed(client, query: dict, body: str):
    return client.post("/wecom/callback", params=query, content=body)


@pytest.mark.parametrize("off", [-330, 330])
def test_a_callback_signed_more_than_five_minutes_away_is_refused(client, fake_wecom, session, off):
    query, body = encrypted_post(added("wm-a", "guide1"), str(int(time.time()) + off))
    response = post_sealed(client, query, body)
    assert response.status_code == 401
    assert response.json()["error"] | {"message": ""} == {
        "code": "stale_timestamp",
        "field": "timestamp",
        "message": "",
    }
    assert stored(session) == 0


def test_a_callback_inside_the_window_is_taken(client, fake_wecom, session):
    query, body = encrypted_post(added("wm-a", "guide1"), str(int(time.time()) - 290))
    assert post_sealed(client, query, body).text == "success"
    assert stored(session) == 1


def test_a_replayed_request_is_refused_by_its_nonce(client, fake_wecom, session):
    query, body = encrypted_post(added("wm-a", "guide1"))
    assert post_sealed(client, query, body).text == "success"
    replayed = post_sealed(client, query, body)
    assert replayed.status_code == 401
    assert replayed.json()["error"]["field"] == "nonce"
    assert stored(session) == 1
    assert session.scalar(select(func.count()).select_from(Job)) == 1


def test_a_nonce_is_remembered_only_for_a_callback_taken(client, fake_wecom, session):
    query, body = encrypted_post(added("wm-a", "guide1"))
    tampered = post_sealed(client, {**query, "msg_signature": "0" * 40}, body)
    assert tampered.status_code == 401
    assert post_sealed(client, query, body).text == "success"  # the real one is still taken


def test_a_body_past_the_limit_is_refused_before_it_is_read(client, fake_wecom, session):
    query, _ = encrypted_post(added("wm-a", "guide1"))
    big = "<xml>" + "A" * 70_000 + "</xml>"
    response = post_sealed(client, query, big)
    assert response.status_code == 413
    assert response.json()["error"]["field"] == "body"
    # Sent in chunks without a length, it is refused once the limit is passed.
    chunks = (big[i : i + 8192].encode() for i in range(0, len(big), 8192))
    streamed = client.post("/wecom/callback", params=query, content=chunks)
    assert streamed.status_code == 413


def test_a_timestamp_that_is_not_a_number_names_the_field(client, fake_wecom, session):
    query, body = encrypted_post(added("wm-a", "guide1"), "soon")
    response = post_sealed(client, query, body)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "timestamp"
