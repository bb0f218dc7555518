"""The issue's done-when: an email's one-click unsubscribe (a POST to the URL of its
List-Unsubscribe header, RFC 8058) leaves that customer out of the next broadcast's preview and
send. Sent through the real email sender to a real SMTP server on loopback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from siyu.broadcasts import service as broadcasts
from siyu.core.db import unit_of_work
from siyu.core.settings import reset_settings
from siyu.messaging import dispatch, service
from siyu.messaging.models import Channel
from tests.messaging.factories import customer
from tests.messaging.smtp_server import smtp_server

MONDAY_10 = datetime(2026, 12, 7, 2, tzinfo=UTC)  # 10:00 in Shanghai, outside quiet hours
PUBLIC = "https://crm.brand.cn"


@pytest.fixture
def mail(monkeypatch):
    with smtp_server() as (mailbox, port):
        monkeypatch.setenv("SIYU_SMTP_URL", f"smtp://127.0.0.1:{port}")
        monkeypatch.setenv("SIYU_MAIL_FROM", "Brand <news@brand.example>")
        monkeypatch.setenv("SIYU_PUBLIC_URL", PUBLIC)
        reset_settings()
        yield mailbox


def _send(session, ids: list[int], name: str, at: datetime) -> dict:
    """A broadcast to the list, previewed, planned and dispatched at `at`: its preview."""
    with unit_of_work() as s:
        variant = broadcasts.VariantSpec(subject="上新", text="{{ name }}，新品到店")
        made = broadcasts.create(
            s, name=name, actor="test", channels=["email"], variants=[variant], customer_ids=ids
        )
        shown = broadcasts.preview(s, made, at)
        broadcasts.plan_now(s, made, at)
    dispatch.dispatch_channel(session, "email", dispatch.senders(session)["email"], now=at)
    return shown


def test_one_click_unsubscribe_leaves_the_customer_out_of_the_next_broadcast(client, session, mail):
    with unit_of_work() as s:
        s.add(Channel(channel="email", mode="live"))
        ids = [customer(s, u, email=f"{u}@example.com", name=u.title()) for u in ("ann", "bob")]
        for cid in ids:
            service.set_consent(s, cid, "email", "subscribed", method="form", source="f", actor="c")

    first = _send(session, ids, "一月上新", MONDAY_10)
    assert first["planned"] == 2
    received = {str(m["To"]): m for m in mail.messages}
    assert set(received) == {"ann@example.com", "bob@example.com"}
    header = str(received["ann@example.com"]["List-Unsubscribe"])
    assert header.startswith(f"<{PUBLIC}/u/")
    unsubscribed = client.post(
        header.strip("<>").removeprefix(PUBLIC),
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert unsubscribed.status_code == 200

    mail.messages.clear()
    second = _send(session, ids, "二月上新", MONDAY_10 + timedelta(days=2))
    assert second["planned"] == 1 and second["left_out"] == {"no_consent": 1}
    assert [str(m["To"]) for m in mail.messages] == ["bob@example.com"]
