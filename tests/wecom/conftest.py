"""WeCom fixtures: the fake API server, settings pointing at it, and a callback poster that
encrypts like WeCom with wechatpy's crypto."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from datetime import datetime

import pytest
import xmltodict
from wechatpy.enterprise.crypto import WeChatCrypto

from siyu import work
from siyu.core.db import unit_of_work
from siyu.core.schedule import book_due
from siyu.core.settings import get_settings, reset_settings
from tests.wecom.fake_server import APP_ID, APP_SECRET, CORP_ID, CORP_SECRET, FakeTencent

TOKEN = "siyu-test-token"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"  # 43 characters, as WeCom issues
_nonces = itertools.count(1000)


@pytest.fixture
def fake_wecom(monkeypatch) -> Iterator[FakeTencent]:
    with FakeTencent() as fake:
        for name, value in {
            "SIYU_WECOM_TOKEN": TOKEN,
            "SIYU_WECOM_AES_KEY": AES_KEY,
            "SIYU_WECOM_CORP_ID": CORP_ID,
            "SIYU_WECOM_SECRET": CORP_SECRET,
            "SIYU_WECOM_API_BASE": fake.wecom_base,
            "SIYU_WECHAT_APP_ID": APP_ID,
            "SIYU_WECHAT_SECRET": APP_SECRET,
            "SIYU_WECHAT_TOKEN": TOKEN,
            "SIYU_WECHAT_AES_KEY": AES_KEY,
            "SIYU_WECHAT_API_BASE": fake.wechat_base,
        }.items():
            monkeypatch.setenv(name, value)
        reset_settings()
        yield fake
    reset_settings()


def callback_xml(fields: dict) -> str:
    """A callback's plain XML as WeCom writes it (every value in CDATA but the numbers)."""
    parts = []
    for name, value in {"ToUserName": CORP_ID, "MsgType": "event", **fields}.items():
        text = str(value)
        parts.append(f"<{name}>{text if text.isdigit() else f'<![CDATA[{text}]]>'}</{name}>")
    return "<xml>" + "".join(parts) + "</xml>"


def encrypted_post(fields: dict, timestamp: str | None = None) -> tuple[dict, str]:
    """The query and body WeCom would POST for these fields, encrypted by wechatpy."""
    crypto = WeChatCrypto(TOKEN, AES_KEY, CORP_ID)
    nonce, timestamp = str(next(_nonces)), timestamp or str(int(time.time()))
    envelope = xmltodict.parse(crypto.encrypt_message(callback_xml(fields), nonce, timestamp))
    sealed = envelope["xml"]
    body = (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName>"
        f"<Encrypt><![CDATA[{sealed['Encrypt']}]]></Encrypt>"
        "<AgentID><![CDATA[]]></AgentID></xml>"
    )
    query = {"msg_signature": sealed["MsgSignature"], "timestamp": timestamp, "nonce": nonce}
    return query, body


@pytest.fixture
def post_callback(client, fake_wecom):
    """Post one callback to /wecom/callback as WeCom does; returns the response."""

    def post(fields: dict):
        query, body = encrypted_post(fields)
        return client.post(
            "/wecom/callback", params=query, content=body, headers={"Content-Type": "text/xml"}
        )

    return post


def book_tick(name: str, at: datetime) -> int:
    """Book one schedule's latest tick at `at`, as a worker's clock would."""
    schedules = [s for s in work.SCHEDULES if s.name == name]
    with unit_of_work() as s:
        return book_due(s, schedules, get_settings().zone, at)


def run_jobs(limit: int = 50) -> int:
    """Run due jobs as the worker would; returns how many ran."""
    ran = 0
    while ran < limit and work.run_one():
        ran += 1
    return ran


def added(external: str, userid: str, state: str = "", welcome: str = "", at: int = 1764400000):
    """An add_external_contact callback's fields."""
    fields = {
        "FromUserName": "sys",
        "CreateTime": at,
        "Event": "change_external_contact",
        "ChangeType": "add_external_contact",
        "UserID": userid,
        "ExternalUserID": external,
    }
    if state:
        fields["State"] = state
    if welcome:
        fields["WelcomeCode"] = welcome
    return fields
