"""Tracked links and one-click unsubscribe: signed codes, clicks counted once per link, a
forged code a 404 (never a 5xx), and an unsubscribe that takes effect for what is not sent."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import select

from siyu.core.db import unit_of_work
from siyu.core.errors import NotFound
from siyu.events.models import OutboxEvent
from siyu.messaging import links, service
from siyu.messaging.models import Delivery, MessageContent
from tests.messaging.factories import customer, delivery


@pytest.fixture
def sent(monkeypatch):
    monkeypatch.setenv("SIYU_PUBLIC_URL", "https://crm.brand.cn")
    from siyu.core.settings import reset_settings

    reset_settings()
    with unit_of_work() as s:
        cid = customer(s, "c1", email="a@example.com")
        service.set_consent(s, cid, "email", "subscribed", method="form", source="f", actor="c")
        content = MessageContent(
            channel="email",
            text="x",
            extras={"links": ["https://shop.example/a", "https://shop.example/b"]},
        )
        s.add(content)
        s.flush()
        row = delivery(
            s, cid, address="a@example.com", content_id=content.id, variant="B", status="sent"
        )
        row.origin_id = 12
        key = links.secret(s)
        return {"id": row.id, "customer": cid, "key": key}


def _clicks(session) -> list[OutboxEvent]:
    return list(session.scalars(select(OutboxEvent).where(OutboxEvent.event == "Message Clicked")))


def test_a_tracked_link_redirects_and_counts_once_per_link(client, session, sent):
    first, second = links.tracked_links(sent["key"], sent["id"], 2)
    assert first.startswith("https://crm.brand.cn/l/")
    path = first.removeprefix("https://crm.brand.cn")
    for _ in range(2):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 302 and answer.headers["location"] == "https://shop.example/a"
    assert (
        client.get(second.removeprefix("https://crm.brand.cn"), follow_redirects=False).headers[
            "location"
        ]
        == "https://shop.example/b"
    )
    clicks = _clicks(session)
    assert sorted(c.message_id for c in clicks) == [
        f"msg-clicked-{sent['id']}-0",
        f"msg-clicked-{sent['id']}-1",
    ]
    properties = orjson.loads(clicks[0].properties)
    assert (
        properties["variant"] == "B"
        and properties["origin"] == "test"
        and properties["origin_id"] == 12
    )
    assert session.get(Delivery, sent["id"]).clicked_at is not None


@pytest.mark.parametrize(
    "path",
    ["/l/zz", "/l/1-0-AAAAAAAAAAAA", "/l/" + "x" * 300, "/l/1-9-", "/u/1-AAAAAAAAAAAA", "/u/%25"],
)
def test_a_forged_or_broken_code_is_a_404(client, sent, path):
    assert client.get(path, follow_redirects=False).status_code == 404
    assert client.post(path.replace("/l/", "/u/")).status_code in (404,)


def test_a_link_index_past_the_contents_links_is_a_404(client, sent):
    code = links.link_code(sent["key"], sent["id"], 5)
    assert client.get(f"/l/{code}", follow_redirects=False).status_code == 404


def test_one_click_unsubscribe_takes_effect_for_what_is_not_sent(client, session, sent):
    url = links.unsubscribe_url(sent["key"], sent["id"])
    path = url.removeprefix("https://crm.brand.cn")
    page = client.get(path, headers={"Accept-Language": "en-US,en;q=0.9"})
    assert page.status_code == 200 and "Unsubscribe" in page.text
    assert "退订" in client.get(path, headers={"Accept-Language": "zh-CN"}).text
    with unit_of_work() as s:
        planned = delivery(s, sent["customer"], key="next", address="a@example.com").id
    answer = client.post(
        path,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200
    session.expire_all()
    assert service.consent_of(session, sent["customer"])["email"].status == "unsubscribed"
    assert service.consent_of(session, sent["customer"])["email"].method == "one_click"
    assert session.get(Delivery, planned).status == "cancelled"
    assert client.post(path).status_code == 200  # a second POST is harmless


def test_a_secret_made_in_a_rolled_back_transaction_is_never_used(session, monkeypatch):
    monkeypatch.setattr(links, "_secrets", {})
    made = links.secret(session)
    session.rollback()
    with pytest.raises(NotFound):  # nothing was ever signed with a kept key
        links.follow(session, links.link_code(made, 1, 0))
    kept = links.secret(session)
    session.commit()
    assert kept != made
    with unit_of_work() as s:
        assert links.secret(s) == kept
