"""Official-account fixtures: the fake server (shared with WeCom's) and a callback poster."""

from __future__ import annotations

import itertools
import time

import pytest
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from siyu.core.settings import reset_settings
from tests.wecom.conftest import AES_KEY, TOKEN, fake_wecom  # noqa: F401
from tests.wecom.fake_server import APP_ID

_nonces = itertools.count(5000)


def signed_query(timestamp: str, nonce: str) -> dict:
    signer = WeChatSigner()
    signer.add_data(TOKEN, timestamp, nonce)
    return {"signature": signer.signature, "timestamp": timestamp, "nonce": nonce}


def event_xml(openid: str, event: str, key: str = "", at: int = 1764400000) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_fake]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{at}</CreateTime>"
        f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>"
        f"<EventKey><![CDATA[{key}]]></EventKey></xml>"
    )


def push(xml: str, encrypted: bool, timestamp: str | None = None) -> tuple[dict, str]:
    """The query and body the official account would POST: plain, or encrypted (safe mode)."""
    timestamp, nonce = timestamp or str(int(time.time())), str(next(_nonces))
    query = signed_query(timestamp, nonce)
    if not encrypted:
        return query, xml
    sealed = WeChatCrypto(TOKEN, AES_KEY, APP_ID).encrypt_message(xml, nonce, timestamp)
    signature = sealed.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    return query | {"encrypt_type": "aes", "msg_signature": signature}, sealed


@pytest.fixture
def post_wechat(client, fake_wecom, monkeypatch):  # noqa: F811
    """Post an event as the official account does: plain (an account without an
    EncodingAESKey), or encrypted (safe mode, the key set)."""

    def post(xml: str, encrypted: bool = False):
        monkeypatch.setenv("SIYU_WECHAT_AES_KEY", AES_KEY if encrypted else "")
        reset_settings()
        query, body = push(xml, encrypted)
        return client.post("/wechat/callback", params=query, content=body)

    return post
