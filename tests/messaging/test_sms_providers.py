"""The SMS adapters against the fake providers: Alibaba Cloud through Siyu's signed httpx client,
Tencent Cloud through Tencent's own client library; each request's signature is checked by the
fake as the provider checks it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from siyu.core.settings import get_settings, reset_settings
from siyu.messaging.channels.aliyun_sms import AliyunSms, canonical_query, signature
from siyu.messaging.channels.sms import SmsMessage, SmsSender, sender_for
from siyu.messaging.channels.tencent_sms import TencentSms
from siyu.messaging.models import Channel
from siyu.messaging.sending import Outgoing
from tests.messaging.fake_sms import (
    ALIYUN_KEY_ID,
    ALIYUN_SECRET,
    TENCENT_APP,
    TENCENT_ID,
    TENCENT_KEY,
    FakeSms,
)


@pytest.fixture
def fake() -> Iterator[FakeSms]:
    with FakeSms() as server:
        yield server


def aliyun(fake: FakeSms, secret: str = ALIYUN_SECRET) -> AliyunSms:
    return AliyunSms(ALIYUN_KEY_ID, secret, fake.endpoint)


def tencent(fake: FakeSms, key: str = TENCENT_KEY) -> TencentSms:
    return TencentSms(TENCENT_ID, key, TENCENT_APP, endpoint=fake.endpoint)


def message(
    key: str = "broadcast:1:customer:7", phone: str = "13700000001", **params
) -> SmsMessage:
    return SmsMessage(
        key, phone, "思域", "SMS_100001", params or {"name": "王 芳", "code": "A+1/2"}
    )


def outgoing(delivery_id: int, phone: str, **content) -> Outgoing:
    return Outgoing(
        delivery_id=delivery_id,
        key=f"test:sms:{delivery_id}",
        channel="sms",
        customer_id=delivery_id,
        address=phone,
        purpose="marketing",
        content=content,
    )


def test_aliyun_sends_a_template_with_its_params_and_key(fake):
    result = aliyun(fake).send(message())
    assert result.error is None and result.provider_id and result.provider_id.endswith("^0")
    [sent] = fake.state.sent("aliyun")
    assert (sent.phone, sent.sign_name, sent.template) == ("13700000001", "思域", "SMS_100001")
    assert sent.params == {"name": "王 芳", "code": "A+1/2"}
    assert sent.key == "broadcast:1:customer:7"


def test_aliyun_with_a_wrong_secret_is_refused_as_alibaba_cloud_refuses(fake):
    result = aliyun(fake, secret="not-the-secret").send(message())
    assert result.error and result.error.startswith("SignatureDoesNotMatch: ")
    assert result.retry  # keys fixed by an operator: the message waits for them
    assert fake.state.sent() == []


def test_aliyun_business_error_fails_the_message_for_good(fake):
    fake.state.fail_next["aliyun"] = [("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")]
    result = aliyun(fake).send(message())
    assert result.error == "isv.MOBILE_NUMBER_ILLEGAL: 非法手机号" and not result.retry


def test_aliyun_international_number_goes_without_plus(fake):
    aliyun(fake).send(message(phone="+85261234567"))
    assert fake.state.sent()[0].phone == "85261234567"


def test_aliyun_lookup_finds_messages_by_their_key(fake):
    provider = aliyun(fake)
    first, second, never = message("k1"), message("k2"), message("k3")
    provider.send(first)
    provider.send(second)
    fake.receipt(fake.state.sent()[0], delivered=True)
    found = provider.lookup([first, second, never])
    assert found["k1"].state == "delivered"
    assert found["k2"].state == "sent"  # accepted, no receipt yet
    assert "k3" not in found


def test_tencent_sends_through_its_client_library(fake):
    result = tencent(fake).send(message(key="journey:3:entry:9", first="王芳", second="8折"))
    assert result.error is None and result.provider_id
    [sent] = fake.state.sent("tencent")
    assert sent.phone == "+8613700000001"
    assert sent.params == ["王芳", "8折"]  # positional, in the mapping's order
    assert sent.key == "journey:3:entry:9"


@pytest.mark.parametrize(
    ("build", "code"),
    [
        (lambda fake: tencent(fake, key="wrong-key"), "AuthFailure.SignatureFailure"),
        (
            lambda fake: TencentSms(
                "AKID-unknown", TENCENT_KEY, TENCENT_APP, endpoint=fake.endpoint
            ),
            "AuthFailure.SecretIdNotFound",
        ),
    ],
)
def test_tencent_with_wrong_keys_is_refused_as_tencent_refuses(fake, build, code):
    result = build(fake).send(message())
    assert result.error and result.error.startswith(f"{code}: ") and result.retry
    assert fake.state.sent() == []


def test_tencent_number_error_is_final(fake):
    fake.state.fail_next["tencent"] = [
        ("InvalidParameterValue.IncorrectPhoneNumber", "incorrect number")
    ]
    result = tencent(fake).send(message())
    assert (
        result.error.startswith("InvalidParameterValue.IncorrectPhoneNumber") and not result.retry
    )


def test_tencent_lookup_reads_receipts_by_session_context(fake):
    provider = tencent(fake)
    first, second = message("k1"), message("k2")
    provider.send(first)
    provider.send(second)
    fake.receipt(fake.state.sent()[1], delivered=False)
    found = provider.lookup([first, second])
    assert "k1" not in found  # no receipt yet: Tencent cannot tell
    assert found["k2"].state == "failed"


def test_sender_answers_sent_with_the_providers_id(fake):
    sender = SmsSender(aliyun(fake), default_sign_name="思域")
    outcomes = sender.send(
        [
            outgoing(1, "13700000001", template="SMS_1", params={"name": "A"}),
            outgoing(
                2, "13700000002", template="SMS_1", params={"name": "B"}, sign_name="思域会员"
            ),
            outgoing(3, "13700000003", params={"name": "C"}),
        ]
    )
    by_id = {o.delivery_id: o for o in outcomes}
    assert by_id[1].status == by_id[2].status == "sent" and by_id[1].provider_id
    assert by_id[3].status == "failed" and "template" in by_id[3].error
    assert sorted(m.sign_name for m in fake.state.sent()) == ["思域", "思域会员"]


def test_sender_reconciles_from_the_providers_records(fake):
    sender = SmsSender(aliyun(fake), default_sign_name="思域")
    sent, lost = (
        outgoing(1, "13700000001", template="SMS_1"),
        outgoing(2, "13700000002", template="SMS_1"),
    )
    sender.send([sent])
    answers = sender.reconcile([sent, lost])
    assert answers[0].status == "sent" and answers[1] is None


def test_network_failure_is_retried(fake):
    provider = AliyunSms(ALIYUN_KEY_ID, ALIYUN_SECRET, "http://127.0.0.1:9")
    [outcome] = SmsSender(provider, "思域").send([outgoing(1, "13700000001", template="SMS_1")])
    assert outcome.status == "failed" and outcome.retry


def test_sender_for_names_the_settings_to_set(monkeypatch):
    monkeypatch.setenv("SIYU_SMS_PROVIDER", "tencent")
    reset_settings()
    with pytest.raises(ValueError, match="SIYU_TENCENT_SECRET_ID"):
        sender_for(get_settings(), None)
    with pytest.raises(ValueError, match="SIYU_ALIYUN_ACCESS_KEY_ID"):
        sender_for(get_settings(), Channel(channel="sms", provider="aliyun", config={}))
    monkeypatch.setenv("SIYU_SMS_PROVIDER", "")
    reset_settings()
    with pytest.raises(ValueError, match="SIYU_SMS_PROVIDER"):
        sender_for(get_settings(), None)


def test_sender_for_builds_the_channels_provider(fake, monkeypatch):
    for name, value in {
        "SIYU_ALIYUN_ACCESS_KEY_ID": ALIYUN_KEY_ID,
        "SIYU_ALIYUN_ACCESS_KEY_SECRET": ALIYUN_SECRET,
        "SIYU_SMS_ENDPOINT": fake.endpoint,
    }.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    row = Channel(channel="sms", mode="live", provider="aliyun", config={"sign_name": "思域"})
    sender = sender_for(get_settings(), row)
    [outcome] = sender.send([outgoing(1, "13700000001", template="SMS_1")])
    assert outcome.status == "sent" and fake.state.sent()[0].sign_name == "思域"


def test_the_aliyun_signature_is_the_one_alibaba_clouds_sdk_computes():
    # The vector: these inputs signed by Alibaba Cloud's own Python SDK (alibabacloud-tea-openapi
    # 0.4.6, Utils.get_authorization), which Siyu does not install.
    headers = {
        "host": "dysmsapi.aliyuncs.com",
        "x-acs-action": "SendSms",
        "x-acs-version": "2017-05-25",
        "x-acs-date": "2026-12-07T02:00:00Z",
        "x-acs-signature-nonce": "3f1c0b8e9a7d4c2b",
        "x-acs-content-sha256": hashlib.sha256(b"").hexdigest(),
    }
    query = canonical_query(
        {
            "PhoneNumbers": "13700000001",
            "SignName": "思域",
            "TemplateCode": "SMS_100001",
            "TemplateParam": '{"name":"王 芳*~/"}',
            "OutId": "broadcast:1:customer:7",
        }
    )
    signed = sorted(headers)
    assert signature(
        "test-secret", "POST", query, headers, signed, headers["x-acs-content-sha256"]
    ) == ("8c82bdf221c34738191eba6dd5c53724bc23ecde6bf600d49fe1cd6b460c9b0c")
