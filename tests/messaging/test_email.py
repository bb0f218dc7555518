"""Email over SMTP against a real server on loopback: parts, headers (Message-ID from the
delivery, RFC 8058 one-click unsubscribe), bounces suppressed, one connection per batch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from siyu.core.db import unit_of_work, utcnow
from siyu.core.settings import get_settings, reset_settings
from siyu.messaging import dispatch, service
from siyu.messaging.channels.email import EmailSender, message_id, server_of
from siyu.messaging.models import Channel, Delivery, MessageContent, Suppression
from siyu.messaging.sending import Outgoing
from tests.messaging.factories import customer, delivery
from tests.messaging.smtp_server import smtp_server


@pytest.fixture
def mail(monkeypatch):
    with smtp_server(refuse={"gone@example.com"}) as (mailbox, port):
        monkeypatch.setenv("SIYU_SMTP_URL", f"smtp://127.0.0.1:{port}")
        monkeypatch.setenv("SIYU_MAIL_FROM", "Brand <news@brand.example>")
        monkeypatch.setenv("SIYU_PUBLIC_URL", "https://crm.brand.cn")
        reset_settings()
        yield mailbox


def _plan(session, user: str, address: str, content_id: int) -> int:
    cid = customer(session, user, email=address, name=user.title())
    service.set_consent(session, cid, "email", "subscribed", method="form", source="f", actor="c")
    row = delivery(
        session,
        cid,
        key=f"broadcast:1:{cid}",
        address=address,
        content_id=content_id,
        send_at=utcnow() - timedelta(seconds=1),
    )
    return row.id


def test_a_broadcast_email_arrives_with_its_parts_and_headers(session, mail):
    with unit_of_work() as s:
        s.add(Channel(channel="email", mode="live"))
        content = MessageContent(
            channel="email",
            subject="{{ name }}, 双十二",
            text="Hi {{ name }}: {{ links[0] }}",
            html="<p>Hi {{ name }}</p><a href='{{ unsubscribe_url }}'>unsubscribe</a>",
            extras={"links": ["https://shop.example/sale"]},
        )
        s.add(content)
        s.flush()
        ok = _plan(s, "ann", "ann@example.com", content.id)
        gone = _plan(s, "bob", "gone@example.com", content.id)
    ways = dispatch.senders(session)
    assert isinstance(ways["email"], EmailSender)
    dispatch.dispatch_channel(session, "email", ways["email"])
    (received,) = mail.messages
    assert received["Subject"] == "Ann, 双十二" and received["To"] == "ann@example.com"
    assert received["From"] == "Brand <news@brand.example>"
    assert received["Message-ID"] == message_id(
        f"broadcast:1:{session.get(Delivery, ok).customer_id}", "brand.example"
    )
    assert received["List-Unsubscribe"].startswith("<https://crm.brand.cn/u/")
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = received.get_body(("plain",)).get_content()
    html = received.get_body(("html",)).get_content()
    assert text.startswith("Hi Ann: https://crm.brand.cn/l/") and "crm.brand.cn/u/" in html
    session.expire_all()
    sent, bounced = session.get(Delivery, ok), session.get(Delivery, gone)
    assert sent.status == "sent" and sent.provider_id == received["Message-ID"].strip("<>")
    assert (bounced.status, bounced.reason) == ("failed", "bounced")
    (suppressed,) = session.scalars(select(Suppression)).all()
    assert (suppressed.address, suppressed.reason) == ("gone@example.com", "bounced")


def test_an_unreachable_server_is_tried_again_later(session, monkeypatch):
    from tests.messaging.smtp_server import free_port

    monkeypatch.setenv("SIYU_SMTP_URL", f"smtp://127.0.0.1:{free_port()}")
    monkeypatch.setenv("SIYU_MAIL_FROM", "news@brand.example")
    reset_settings()
    sender = EmailSender(get_settings())
    (outcome,) = sender.send(
        [Outgoing(1, "k", "email", 1, "a@example.com", "marketing", {"text": "x"})]
    )
    assert outcome.status == "failed" and outcome.retry


def test_transactional_mail_has_no_unsubscribe_headers(mail):
    sender = EmailSender(get_settings())
    message = sender.compose(
        Outgoing(
            1,
            "k",
            "email",
            1,
            "a@example.com",
            "transactional",
            {"subject": "Receipt", "text": "x", "unsubscribe_url": "https://x/u/1"},
        )
    )
    assert message["List-Unsubscribe"] is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://u%40x:p%3Ass@mail.example:2525", ("mail.example", 2525, False, "u@x", "p:ss")),
        ("smtps://mail.example", ("mail.example", 465, True, None, None)),
        ("smtp://mail.example", ("mail.example", 587, False, None, None)),
    ],
)
def test_the_smtp_url_is_read(url, expected):
    server = server_of(url)
    assert (server.host, server.port, server.implicit_tls, server.user, server.password) == expected


def test_a_live_email_channel_without_settings_says_what_to_set(session, monkeypatch):
    monkeypatch.delenv("SIYU_SMTP_URL", raising=False)
    reset_settings()
    session.add(Channel(channel="email", mode="live"))
    session.commit()
    (outcome,) = dispatch.senders(session)["email"].send(
        [Outgoing(1, "k", "email", 1, "a@example.com", "marketing", {"text": "x"})]
    )
    assert outcome.status == "failed" and "SIYU_SMTP_URL" in (outcome.error or "")


def test_each_email_is_recorded_before_the_next_is_handed_over(session, mail):
    """SMTP takes no idempotency key: a crash may send again only the message in flight."""
    seen: list[str] = []

    class Watched(EmailSender):
        def send_each(self, batch):
            for outcome in super().send_each(batch):
                yield outcome
                with unit_of_work() as s:  # asked for the next one: this one is committed
                    seen.append(s.get(Delivery, outcome.delivery_id).status)

    with unit_of_work() as s:
        content = MessageContent(channel="email", subject="Sale", text="Hi {{ name }}")
        s.add(content)
        s.flush()
        ids = [_plan(s, u, f"{u}@example.com", content.id) for u in ("ann", "bob", "cat")]
    dispatch.dispatch_channel(session, "email", Watched(get_settings()))
    assert seen == ["sent", "sent", "sent"] and len(mail.messages) == 3
    session.expire_all()
    assert {session.get(Delivery, i).status for i in ids} == {"sent"}
