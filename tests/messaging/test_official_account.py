"""OfficialAccountSender against the fake official-account API with wechatpy's client: template
messages, customer-service messages inside and outside the 48 hours, refusals and retries; the
callbacks keep the 48-hour window and an unfollow suppresses the openid."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from siyu.messaging import dispatch
from siyu.messaging.channels.official_account import OfficialAccountSender
from siyu.messaging.models import Channel, Suppression
from siyu.messaging.sending import Outgoing
from siyu.wechat.client import OfficialAccountClient
from siyu.wechat.service import last_interactions
from tests.wechat import conftest as wechat_fixtures
from tests.wecom import conftest as wecom_fixtures
from tests.wecom.conftest import run_jobs
from tests.wecom.fake_server import APP_ID, APP_SECRET, FakeTencent

fake_wecom = wecom_fixtures.fake_wecom  # the fake API (both platforms) and its settings
post_wechat = wechat_fixtures.post_wechat  # a callback posted as the official account does
NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
TEMPLATE = {
    "template_id": "tpl-order-shipped",
    "url": "https://brand.example/orders/88",
    "data": {"first": "您的订单已发货", "keyword1": {"value": "88", "color": "#173177"}},
}


def outgoing(n: int, openid: str, content: dict) -> Outgoing:
    return Outgoing(
        delivery_id=n,
        key=f"journey-step:3:entry:{n}",
        channel="official_account",
        customer_id=n,
        address=openid,
        purpose="transactional",
        content=content,
    )


def sender(fake: FakeTencent, interactions: dict | None = None) -> OfficialAccountSender:
    return OfficialAccountSender(
        client=OfficialAccountClient(APP_ID, APP_SECRET, fake.wechat_base),
        interactions=lambda openids: {o: (interactions or {}).get(o) for o in openids},
        clock=lambda: NOW,
    )


def test_a_template_message_goes_with_its_data_url_and_key(fake_wecom):
    fake_wecom.state.followers["o-amy"] = {"nickname": "Amy"}

    (outcome,) = sender(fake_wecom).send([outgoing(1, "o-amy", TEMPLATE)])

    (message,) = fake_wecom.state.oa_messages
    assert message["touser"] == "o-amy" and message["template_id"] == "tpl-order-shipped"
    assert message["url"] == "https://brand.example/orders/88"
    assert message["data"] == {
        "first": {"value": "您的订单已发货"},
        "keyword1": {"value": "88", "color": "#173177"},
    }
    assert message["client_msg_id"] == "journey-step:3:entry:1"
    assert (outcome.status, outcome.provider_id) == ("sent", str(message["msgid"]))


def test_a_template_message_to_a_mini_program_page(fake_wecom):
    fake_wecom.state.followers["o-amy"] = {}
    card = {"appid": "wx-mini", "pagepath": "pages/order?id=88"}

    sender(fake_wecom).send([outgoing(1, "o-amy", TEMPLATE | {"miniprogram": card})])

    assert fake_wecom.state.oa_messages[0]["miniprogram"] == card


def test_a_template_sent_again_after_a_crash_goes_once(fake_wecom):
    fake_wecom.state.followers["o-amy"] = {}
    batch = [outgoing(1, "o-amy", TEMPLATE)]
    first = sender(fake_wecom).send(batch)

    again = sender(fake_wecom).reconcile(batch)

    assert len(fake_wecom.state.oa_messages) == 1
    assert again[0] is not None and again[0].provider_id == first[0].provider_id


def test_a_service_message_inside_48_hours_is_sent(fake_wecom):
    fake_wecom.state.followers["o-amy"] = {}
    fake_wecom.state.oa_window.add("o-amy")
    last = {"o-amy": NOW - timedelta(hours=47)}

    (outcome,) = sender(fake_wecom, last).send([outgoing(1, "o-amy", {"text": "您好，尺码已到货"})])

    assert outcome.status == "sent"
    assert fake_wecom.state.oa_messages[0]["text"] == {"content": "您好，尺码已到货"}


def test_a_service_message_outside_48_hours_fails_without_a_call(fake_wecom):
    fake_wecom.state.followers["o-amy"] = {}
    last = {"o-amy": NOW - timedelta(hours=49)}
    batch = [outgoing(1, "o-amy", {"text": "您好"}), outgoing(2, "o-new", {"text": "您好"})]

    outcomes = sender(fake_wecom, last).send(batch)

    assert [(o.status, o.error, o.retry) for o in outcomes] == [
        ("failed", "outside_48h", False)
    ] * 2
    assert not fake_wecom.state.calls_to("message/custom/send")


def test_wechat_saying_the_window_closed_is_outside_48h(fake_wecom):
    fake_wecom.state.followers["o-amy"] = {}  # WeChat's clock says the window closed
    last = {"o-amy": NOW - timedelta(hours=1)}

    (outcome,) = sender(fake_wecom, last).send([outgoing(1, "o-amy", {"text": "您好"})])

    assert outcome.status == "failed" and outcome.error.startswith("outside_48h: WeChat 45015")


def test_an_unfollowed_account_is_failed_not_retried(fake_wecom):
    (outcome,) = sender(fake_wecom).send([outgoing(1, "o-gone", TEMPLATE)])

    assert (outcome.status, outcome.retry) == ("failed", False)
    assert outcome.error.startswith("unfollowed")


def test_the_call_limit_answers_a_retry(fake_wecom):
    fake_wecom.state.followers["o-amy"] = {}
    fake_wecom.state.fail_next["message/template/send"] = [45009]

    (outcome,) = sender(fake_wecom).send([outgoing(1, "o-amy", TEMPLATE)])

    assert (outcome.status, outcome.retry) == ("failed", True)
    assert outcome.error.startswith("rate_limited")


def test_an_expired_token_is_fetched_again_once(fake_wecom):
    fake_wecom.state.followers["o-amy"] = {}
    ours = sender(fake_wecom)
    ours.send([outgoing(1, "o-amy", TEMPLATE)])
    fake_wecom.state.tokens.clear()

    (outcome,) = ours.send([outgoing(2, "o-amy", TEMPLATE)])

    assert outcome.status == "sent"
    assert len([c for c in fake_wecom.state.calls if c.path.endswith("/token")]) == 2


def message_xml(openid: str, text: str, at: int) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_fake]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{at}</CreateTime>"
        f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]></Content>"
        f"<MsgId>{at}{len(text)}</MsgId></xml>"
    )


def test_callbacks_keep_the_window_and_an_unfollow_suppresses(session, post_wechat):
    at = int(time.time()) - 60
    assert post_wechat(message_xml("o-amy", "还有 M 码吗", at)).status_code == 200
    run_jobs()

    seen = last_interactions(session, ["o-amy", "o-nobody"])
    assert seen == {"o-amy": datetime.fromtimestamp(at, UTC)}

    post_wechat(wechat_fixtures.event_xml("o-amy", "unsubscribe", at=at + 30))
    run_jobs()
    session.expire_all()

    assert last_interactions(session, ["o-amy"]) == {"o-amy": None}
    suppressed = session.scalars(select(Suppression)).all()
    assert [(s.channel, s.address, s.reason) for s in suppressed] == [
        ("official_account", "o-amy", "unfollowed")
    ]

    post_wechat(wechat_fixtures.event_xml("o-amy", "subscribe", at=at + 50))
    run_jobs()
    session.expire_all()

    assert session.scalars(select(Suppression)).all() == []
    assert last_interactions(session, ["o-amy"]) == {"o-amy": datetime.fromtimestamp(at + 50, UTC)}


def test_a_live_channel_is_sent_by_the_official_account_sender(session, fake_wecom):
    session.add(Channel(channel="official_account", mode="live"))
    session.commit()

    assert isinstance(dispatch.senders(session)["official_account"], OfficialAccountSender)
