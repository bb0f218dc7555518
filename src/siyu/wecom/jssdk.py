"""WeCom's JS-SDK for the guide's workbench: the page is signed so that, inside WeCom's browser,
`wx.openEnterpriseChat` opens the chat with a customer.

WeCom's rule: `wx.config` is signed with the corp's jsapi_ticket and `wx.agentConfig` with the
app's (`ticket/get?type=agent_config`), each as sha1("jsapi_ticket=…&noncestr=…&timestamp=…&url=…")
over the page's URL without its #fragment. Tickets live 2 hours and are rate-limited, so the
app's client keeps them (wechatpy caches both until they expire).
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass

from wechatpy.exceptions import WeChatClientException

from siyu.core.settings import Settings, get_settings
from siyu.wecom.client import WecomClient, app_client

log = logging.getLogger(__name__)
SDKS = (
    "https://res.wx.qq.com/open/js/jweixin-1.2.0.js",  # wx.config
    "https://open.work.weixin.qq.com/wwopen/js/jwxwork-1.0.0.js",  # wx.agentConfig
)


@dataclass(frozen=True)
class PageSignature:
    """What the page hands `wx.config` and `wx.agentConfig`."""

    corpid: str
    agentid: str
    timestamp: int
    nonceStr: str  # noqa: N815 (the JS-SDK's own name)
    signature: str  # for wx.config (the corp's ticket)
    agentSignature: str  # noqa: N815 (for wx.agentConfig, the app's ticket)


def is_configured(settings: Settings | None = None) -> bool:
    settings = settings or get_settings()
    return bool(settings.wecom_corp_id and settings.wecom_agent_id and settings.wecom_agent_secret)


def sign_page(
    url: str, settings: Settings | None = None, *, now: int | None = None, nonce: str | None = None
) -> PageSignature | None:
    """The page's signature, or None when WeCom's app is not configured or WeCom did not answer
    (the workbench then offers the copy button alone)."""
    settings = settings or get_settings()
    if not is_configured(settings):
        return None
    client = app_client(settings)
    try:
        corp_ticket = client.jsapi.get_jsapi_ticket()
        agent_ticket = client.jsapi.get_agent_jsapi_ticket()
    except (WeChatClientException, OSError) as error:  # requests' errors are OSErrors
        log.warning("WeCom JS-SDK tickets unavailable: %s", error)
        return None
    return signed(
        client, settings.wecom_agent_id, url, corp_ticket, agent_ticket, now=now, nonce=nonce
    )


def signed(
    client: WecomClient,
    agent_id: str,
    url: str,
    corp_ticket: str,
    agent_ticket: str,
    *,
    now: int | None = None,
    nonce: str | None = None,
) -> PageSignature:
    timestamp = now if now is not None else int(time.time())
    nonce = nonce or secrets.token_hex(8)
    page = url.split("#", 1)[0]
    return PageSignature(
        corpid=client.corp_id,
        agentid=agent_id,
        timestamp=timestamp,
        nonceStr=nonce,
        signature=client.jsapi.get_jsapi_signature(nonce, corp_ticket, timestamp, page),
        agentSignature=client.jsapi.get_jsapi_signature(nonce, agent_ticket, timestamp, page),
    )
