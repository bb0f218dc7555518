"""SMS end to end: a delivery dispatched to the fake provider, its receipt pushed back, a
customer's reply (an unsubscribe word or not), each push applied once; bad pushes answered 4xx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from siyu.core.db import utcnow
from siyu.core.settings import reset_settings
from siyu.events.models import OutboxEvent
from siyu.messaging import dispatch, service
from siyu.messaging.channels.sms import SmsMessage
from siyu.messaging.models import Channel, Consent, Delivery, InboundReply, Suppression
from tests.messaging.factories import customer, delivery
from tests.messaging.fake_sms import (
    ALIYUN_KEY_ID,
    ALIYUN_SECRET,
    TENCENT_APP,
    TENCENT_ID,
    TENCENT_KEY,
    FakeSms,
)

TOKEN = "sms-callback-secret"
PHONE = "13700000001"


@pytest.fixture
def fake(monkeypatch) -> Iterator[FakeSms]:
    with FakeSms() as server:
        for name, value in {
            "SIYU_ALIYUN_ACCESS_KEY_ID": ALIYUN_KEY_ID,
            "SIYU_ALIYUN_ACCESS_KEY_SECRET": ALIYUN_SECRET,
            "SIYU_TENCENT_SECRET_ID": TENCENT_ID,
            "SIYU_TENCENT_SECRET_KEY": TENCENT_KEY,
            "SIYU_TENCENT_SMS_SDK_APP_ID": TENCENT_APP,
            "SIYU_SMS_ENDPOINT": server.endpoint,
            "SIYU_SMS_CALLBACK_TOKEN": TOKEN,
        }.items():
            monkeypatch.setenv(name, value)
        reset_settings()
        yield server
    reset_settings()


@pytest.fixture(params=["aliyun", "tencent"])
def sent(request, session, fake) -> Delivery:
    """A marketing SMS dispatched for real through the provider (live channel)."""
    session.add(
        Channel(channel="sms", mode="live", provider=request.param, config={"sign_name": "思域"})
    )
    cid = customer(session, "c1", phone=PHONE)
    service.set_consent(session, cid, "sms", "subscribed", method="api", source="t", actor="t")
    row = delivery(
        session,
        cid,
        "sms",
        address=PHONE,
        send_at=utcnow() - timedelta(seconds=1),
        content={"template": "SMS_100001", "params": {"name": "王芳"}},
    )
    session.commit()
    sender = dispatch.senders(session)["sms"]
    assert dispatch.dispatch_channel(session, "sms", sender) == 1
    session.expire_all()
    assert row.status == "sent" and row.provider_id
    return row


def _events(session, name: str) -> list[OutboxEvent]:
    return list(session.scalars(select(OutboxEvent).where(OutboxEvent.event == name)))


def _provider(session) -> str:
    return session.get_one(Channel, "sms").provider


def _push_receipt(client, fake, provider: str, delivered: bool):
    message = fake.state.sent(provider)[-1]
    path = "aliyun/report" if provider == "aliyun" else "tencent/status"
    return client.post(f"/sms/{path}/{TOKEN}", json=[fake.receipt(message, delivered)])


def _push_reply(client, provider: str, text: str, sequence: int = 1, at: int = 1_800_000_000):
    if provider == "aliyun":
        body = [FakeSms.aliyun_reply(PHONE, text, sequence)]
        return client.post(f"/sms/aliyun/up/{TOKEN}", json=body)
    return client.post(f"/sms/tencent/reply/{TOKEN}", json=FakeSms.tencent_reply(PHONE, text, at))


def test_the_provider_got_the_template_sign_and_key(session, fake, sent):
    [message] = fake.state.sent()
    assert (message.sign_name, message.template, message.key) == ("思域", "SMS_100001", sent.key)


def test_a_delivered_receipt_is_applied_once(client, session, fake, sent):
    provider = _provider(session)
    for _ in range(2):  # the provider pushes again when unsure it was heard
        answer = _push_receipt(client, fake, provider, delivered=True)
        assert answer.status_code == 200
        expected = (
            {"code": 0, "msg": "接收成功"}
            if provider == "aliyun"
            else {"result": 0, "errmsg": "OK"}
        )
        assert answer.json() == expected
    session.expire_all()
    assert sent.status == "delivered" and sent.delivered_at is not None
    assert len(_events(session, "Message Delivered")) == 1
    assert len(_events(session, "Message Sent")) == 1


def test_a_receipt_before_the_senders_answer_is_recorded_finds_its_delivery(client, session, fake):
    cid = customer(session, "c1", phone=PHONE)
    row = delivery(session, cid, "sms", address=PHONE, status="sending", content={})
    session.commit()
    receipt = {
        "user_receive_time": "2026-12-07 10:00:00",
        "nationcode": "86",
        "mobile": PHONE,
        "report_status": "SUCCESS",
        "errmsg": "DELIVRD",
        "description": "用户短信送达成功",
        "sid": "2019:abc",
    }
    assert client.post(f"/sms/tencent/status/{TOKEN}", json=[receipt]).status_code == 200
    session.expire_all()
    assert (row.status, row.provider_id) == ("delivered", "2019:abc")


def test_a_failed_receipt_fails_the_delivery(client, session, fake, sent):
    _push_receipt(client, fake, _provider(session), delivered=False)
    session.expire_all()
    assert sent.status == "failed" and "MK:0001" in sent.error
    assert len(_events(session, "Message Failed")) == 1


@pytest.mark.parametrize("text", ["TD", " td ", "T", "n", "退订", "退"])
def test_an_unsubscribe_reply_unsubscribes_the_number(client, session, fake, sent, text):
    provider = _provider(session)
    for _ in range(2):
        assert _push_reply(client, provider, text).status_code == 200
    session.expire_all()
    [reply] = session.scalars(select(InboundReply)).all()
    assert (reply.action, reply.customer_id, reply.delivery_id) == (
        "unsubscribed",
        sent.customer_id,
        sent.id,
    )
    consent = session.scalar(select(Consent).where(Consent.customer_id == sent.customer_id))
    assert (consent.status, consent.method) == ("unsubscribed", "reply")
    suppression = session.scalar(select(Suppression))
    assert (suppression.channel, suppression.address) == ("sms", PHONE)
    assert sent.replied_at is not None
    [replied] = _events(session, "Message Replied")
    properties = json.loads(replied.properties)
    assert properties["delivery_id"] == sent.id and properties["unsubscribe"] is True
    assert replied.customer_id == sent.customer_id


def test_any_other_reply_is_kept_and_marks_the_message_replied(client, session, fake, sent):
    provider = _provider(session)
    _push_reply(client, provider, "好的，谢谢", sequence=1, at=1_800_000_000)
    _push_reply(client, provider, "TDX", sequence=2, at=1_800_000_001)
    session.expire_all()
    assert [r.action for r in session.scalars(select(InboundReply))] == ["none", "none"]
    consent = session.scalar(select(Consent).where(Consent.customer_id == sent.customer_id))
    assert consent.status == "subscribed"
    assert sent.replied_at is not None
    assert len(_events(session, "Message Replied")) == 2


def test_a_reply_from_an_unknown_number_is_kept(client, session, fake):
    body = [FakeSms.aliyun_reply("13900000009", "TD", 7)]
    assert client.post(f"/sms/aliyun/up/{TOKEN}", json=body).status_code == 200
    [reply] = session.scalars(select(InboundReply)).all()
    assert reply.customer_id is None and reply.action == "unsubscribed"
    assert session.scalar(select(func.count()).select_from(Suppression)) == 1


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("aliyun/report", b"[{", "body"),
        ("aliyun/report", b'{"phone_number": "1"}', "body"),
        ("aliyun/report", b'[{"success": true}]', "0.phone_number"),
        ("aliyun/up", b'[{"phone_number": "137", "content": "T"}]', "0.sequence_id"),
        (
            "tencent/status",
            b'[{"mobile": "137", "sid": "1", "report_status": "MAYBE"}]',
            "0.report_status",
        ),
        ("tencent/reply", b'{"mobile": "137", "text": "T", "time": "soon"}', "0.time"),
        (
            "tencent/reply",
            b'[{"mobile": "137", "text": "' + b"x" * 3000 + b'", "time": 1}]',
            "0.text",
        ),
    ],
)
def test_a_bad_push_is_refused_naming_the_field(client, fake, path, body, field):
    answer = client.post(f"/sms/{path}/{TOKEN}", content=body)
    assert answer.status_code == 400
    assert answer.json()["error"]["field"] == field


def test_a_push_with_a_wrong_or_no_token_is_refused(client, fake, monkeypatch):
    body = [FakeSms.aliyun_reply(PHONE, "TD", 1)]
    assert client.post("/sms/aliyun/up/guess", json=body).status_code == 403
    monkeypatch.setenv("SIYU_SMS_CALLBACK_TOKEN", "")
    reset_settings()
    assert client.post(f"/sms/aliyun/up/{TOKEN}", json=body).status_code == 404


def test_an_oversized_push_is_refused_before_it_is_read(client, fake):
    answer = client.post(f"/sms/aliyun/report/{TOKEN}", content=b"[" + b" " * 600_000 + b"]")
    assert answer.status_code == 413


def test_a_crash_left_sending_is_reconciled_from_the_providers_records(session, fake):
    session.add(
        Channel(channel="sms", mode="live", provider="aliyun", config={"sign_name": "思域"})
    )
    cid = customer(session, "c1", phone=PHONE)
    service.set_consent(session, cid, "sms", "subscribed", method="api", source="t", actor="t")
    handed = utcnow() - timedelta(hours=1)
    went, lost = (
        delivery(
            session,
            cid,
            "sms",
            key=key,
            address=PHONE,
            status="sending",
            send_at=handed,
            content={"template": "SMS_1"},
        )
        for key in ("k-went", "k-lost")
    )
    session.commit()
    sender = dispatch.senders(session)["sms"]
    sender.provider.send(SmsMessage(went.key, PHONE, "思域", "SMS_1", {}))  # then the crash
    dispatch.reconcile_stale(session, {"sms": sender})
    session.expire_all()
    assert went.status == "sent"  # the provider has it: not sent again
    assert lost.status == "sent"  # no record of it: sent again with its own key
    assert sorted(m.key for m in fake.state.sent()) == ["k-lost", "k-went"]
