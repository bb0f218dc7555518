"""Done when: an email's one-click unsubscribe (a POST to its List-Unsubscribe URL) removes that
customer from the next broadcast's preview and send."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from siyu.broadcasts import service as broadcasts
from siyu.core.db import unit_of_work
from siyu.core.settings import reset_settings
from siyu.messaging import dispatch, service
from siyu.messaging.models import Channel
from tests.messaging.factories import customer
from tests.messaging.smtp_server import smtp_server

NOON = datetime(2026, 12, 1, 4, tzinfo=UTC)  # 12:00 in Shanghai: no quiet hours


def _broadcast(ids: list[int], name: str) -> int:
    with unit_of_work() as s:
        spec = broadcasts.VariantSpec(subject="{{ name }}", text="Hi {{ name }}")
        return broadcasts.create(
            s, name=name, actor="test", channels=["email"], variants=[spec], customer_ids=ids
        ).id


def _send(broadcast_id: int, at: datetime) -> None:
    with unit_of_work() as s:
        broadcasts.plan_now(s, broadcasts.find(s, broadcast_id), at)
    with unit_of_work() as s:
        dispatch.dispatch_channel(s, "email", dispatch.senders(s)["email"])


def test_one_click_unsubscribe_leaves_the_customer_out_of_the_next_broadcast(client, monkeypatch):
    with smtp_server() as (mailbox, port):
        monkeypatch.setenv("SIYU_SMTP_URL", f"smtp://127.0.0.1:{port}")
        monkeypatch.setenv("SIYU_MAIL_FROM", "news@brand.example")
        monkeypatch.setenv("SIYU_PUBLIC_URL", "https://crm.brand.cn")
        reset_settings()
        with unit_of_work() as s:
            s.add(Channel(channel="email", mode="live"))
            ids = [customer(s, f"c{n}", email=f"c{n}@example.com", name=f"C{n}") for n in range(3)]
            for cid in ids:
                service.set_consent(
                    s, cid, "email", "subscribed", method="form", source="sign-up", actor="c"
                )
        _send(_broadcast(ids, "first"), NOON)
        assert sorted(m["To"] for m in mailbox.messages) == [f"c{n}@example.com" for n in range(3)]
        mail = next(m for m in mailbox.messages if m["To"] == "c0@example.com")
        url = mail["List-Unsubscribe"].strip("<>")
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        answer = client.post(
            url.removeprefix("https://crm.brand.cn"),
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert answer.status_code == 200

        second, next_day = _broadcast(ids, "second"), NOON + timedelta(days=1)
        with unit_of_work() as s:
            shown = broadcasts.preview(s, broadcasts.find(s, second), next_day)
        assert shown["planned"] == 2 and shown["left_out"] == {"no_consent": 1}
        mailbox.messages.clear()
        _send(second, next_day)
        assert sorted(m["To"] for m in mailbox.messages) == ["c1@example.com", "c2@example.com"]
