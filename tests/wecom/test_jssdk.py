"""WeCom's JS-SDK for the guide's workbench: the tickets fetched from (the fake) WeCom once, the
page signed as WeCom's docs say, and inside WeCom's browser the task page carries the SDK and its
signature; outside it, or with WeCom's app not configured, the page loads no SDK."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date

import pytest

from siyu.core.db import unit_of_work
from siyu.core.settings import get_settings, reset_settings
from siyu.customers.models import Customer, Identity
from siyu.tasks.service import create_task
from siyu.wecom import jssdk
from tests.wecom.fake_server import AGENT_ID, AGENT_SECRET, CORP_ID

PAGE = "https://crm.brand.cn/tasks/7?done=marked"
WECOM_UA = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 wxwork/4.1.22 MicroMessenger/7.0.1"


@pytest.fixture
def app_configured(fake_wecom, monkeypatch):
    monkeypatch.setenv("SIYU_WECOM_AGENT_ID", AGENT_ID)
    monkeypatch.setenv("SIYU_WECOM_AGENT_SECRET", AGENT_SECRET)
    reset_settings()
    return fake_wecom


def _sha1(ticket: str, nonce: str, timestamp: int, url: str) -> str:
    text = f"jsapi_ticket={ticket}&noncestr={nonce}&timestamp={timestamp}&url={url}"
    return hashlib.sha1(text.encode()).hexdigest()


def test_a_page_is_signed_with_the_corp_and_the_app_tickets(app_configured):
    fake = app_configured
    signed = jssdk.sign_page(PAGE + "#c12", now=1_765_000_000, nonce="n0nce")
    corp_ticket = next(c for c in fake.state.calls if c.path.endswith("get_jsapi_ticket"))
    agent_ticket = next(c for c in fake.state.calls if c.path.endswith("ticket/get"))
    assert agent_ticket.query["type"] == "agent_config"
    assert signed.corpid == CORP_ID and signed.agentid == AGENT_ID
    assert corp_ticket.query["access_token"] == agent_ticket.query["access_token"]
    # The fake numbers its tickets: the corp's came first, then the app's.
    assert signed.signature == _sha1("corp-ticket-1", "n0nce", 1_765_000_000, PAGE)
    assert signed.agentSignature == _sha1("agent-ticket-2", "n0nce", 1_765_000_000, PAGE)
    again = jssdk.sign_page(PAGE)  # tickets live two hours: not fetched again
    assert again is not None
    assert len(fake.state.calls_to("get_jsapi_ticket")) == 1
    assert len(fake.state.calls_to("ticket/get")) == 1


def test_no_signature_without_the_app_or_when_wecom_refuses(fake_wecom, monkeypatch):
    assert jssdk.sign_page(PAGE) is None  # the customer-contact secret alone is not the app
    assert fake_wecom.state.calls_to("get_jsapi_ticket") == []
    monkeypatch.setenv("SIYU_WECOM_AGENT_ID", AGENT_ID)
    monkeypatch.setenv("SIYU_WECOM_AGENT_SECRET", "wrong-secret")
    reset_settings()
    assert jssdk.sign_page(PAGE) is None  # WeCom refused the token: the copy button is enough


def _guide_task(users) -> int:
    with unit_of_work() as s:
        customer = Customer(traits={"name": "王芳"}, owner_id=users["guide_staff_id"])
        s.add(customer)
        s.flush()
        s.add(Identity(type="wecom_external_userid", value="wm-fang", customer_id=customer.id))
        return create_task(
            s, "回访", date(2026, 12, 10), "t", customer_ids=[customer.id], message="您好"
        ).id


def test_inside_wecom_the_task_page_carries_the_sdk_and_its_signature(
    app_configured, signed_in, users
):
    task_id = _guide_task(users)
    guide = signed_in("guide")
    inside = guide.get(f"/tasks/{task_id}", headers={"User-Agent": WECOM_UA}).text
    assert "jwxwork-1.0.0.js" in inside and "jweixin-1.2.0.js" in inside
    config = json.loads(re.search(r'id="wecom-config"[^>]*>([^<]*)<', inside).group(1))
    assert config["corpid"] == CORP_ID and config["agentid"] == AGENT_ID
    page = get_settings().public_base("http://testserver") + f"/tasks/{task_id}"
    assert config["signature"] == _sha1(
        "corp-ticket-1", config["nonceStr"], config["timestamp"], page
    )
    nonce = re.search(r'<script src="https://res.wx.qq.com[^"]*" nonce="([^"]+)"', inside)
    assert nonce, "the SDK is allowed by the page's CSP nonce"
    assert 'data-open-chat="wm-fang"' in inside  # shown once wx.agentConfig succeeds
    outside = guide.get(f"/tasks/{task_id}").text
    assert "jweixin" not in outside and "wecom-config" not in outside
    assert "data-open-chat" not in outside
    assert 'data-test="copy-message-top"' in outside


def test_without_wecom_the_workbench_loads_no_sdk(signed_in, users):
    task_id = _guide_task(users)
    page = signed_in("guide").get(f"/tasks/{task_id}", headers={"User-Agent": WECOM_UA}).text
    assert "jweixin" not in page and 'data-test="copy-message-top"' in page
