"""Messages are touches: a sent or clicked message carries its channel's touchpoint, registered
as an owned touchpoint of the right group, so attribution credits it; and, being the brand's
act, it moves none of the customer's own times nor the visitors."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select
from typer.testing import CliRunner

from siyu.cli import app
from siyu.core.db import unit_of_work
from siyu.customers.models import Customer
from siyu.customers.service import find_customer
from siyu.events.models import OutboxEvent
from siyu.events.service import SourceRef, ingest
from siyu.events.shipper import ship_all
from siyu.events.sources import create_key
from siyu.messaging import dispatch, service
from siyu.messaging.sending import Outcome
from siyu.snapshots import write_snapshots
from siyu.touchpoints.models import Touchpoint
from siyu.touchpoints.service import register
from tests.analytics.factories import SHANGHAI
from tests.messaging.factories import delivery

SCANNED = datetime(2026, 11, 9, 10, tzinfo=SHANGHAI)
MESSAGED = datetime(2026, 11, 10, 11, tzinfo=SHANGHAI)
ORDERED = datetime(2026, 11, 11, 12, tzinfo=SHANGHAI)


def _track(event: str, message_id: str, at: datetime, **properties) -> dict:
    return {
        "type": "track",
        "event": event,
        "userId": "u1",
        "messageId": message_id,
        "timestamp": at.isoformat(),
        "properties": properties,
        "context": {"traits": {"phone": "13800138000"}},
    }


def _report(kind: str, day: str, *args: str) -> dict:
    out = CliRunner().invoke(app, ["report", kind, "--start", day, "--end", day, *args, "--json"])
    assert out.exit_code == 0, out.output
    return json.loads(out.output)


def test_sent_and_clicked_messages_carry_their_channels_touchpoint(session):
    with unit_of_work() as s:
        source, _ = create_key(s, "mall")
        ingest(s, SourceRef(source.id, source.name), [_track("Signed Up", "a", SCANNED)], SCANNED)
    customer_id = find_customer(session, "u1").id
    row = delivery(session, customer_id, "sms", address="13800138000")
    sent = service.message_event(row, "Message Sent", MESSAGED)
    assert sent["touchpoint"] == "message-sms"
    assert service.message_event(row, "Message Clicked", MESSAGED)["touchpoint"] == "message-sms"
    for event in ("Message Planned", "Message Delivered", "Message Failed"):
        assert service.message_event(row, event, MESSAGED)["touchpoint"] is None
    email = delivery(session, customer_id, "email", address="a@example.com")
    wecom = delivery(session, customer_id, "wecom", address="wm-1")
    assert service.message_event(email, "Message Sent", MESSAGED)["touchpoint"] == "message-email"
    assert service.message_event(wecom, "Message Sent", MESSAGED)["touchpoint"] == "message-wecom"


def test_attribution_credits_a_message_while_the_customers_own_times_stay(session):
    with unit_of_work() as s:
        source, _ = create_key(s, "mall")
        register(s, "store-qr", "门店二维码", group="store", entry_type="owned")
        ref = SourceRef(source.id, source.name)
        ingest(s, ref, [_track("QR Code Scanned", "s1", SCANNED, touchpoint="store-qr")], SCANNED)
    with unit_of_work() as s:
        before = _own_times(find_customer(s, "u1"))
        row = delivery(s, find_customer(s, "u1").id, "sms", address="13800138000", send_at=MESSAGED)
        dispatch.record_outcomes(s, [Outcome(row.id, "sent")], now=MESSAGED)
    with unit_of_work() as s:
        customer = find_customer(s, "u1")
        assert _own_times(customer) == before and customer.first_touchpoint == "store-qr"
        order = _track("Order Completed", "o1", ORDERED, order_id="A1", revenue="80.00")
        ingest(s, SourceRef(source.id, source.name), [order], ORDERED)
    ship_all()
    write_snapshots()

    touchpoint = session.scalar(select(Touchpoint).where(Touchpoint.code == "message-sms"))
    assert touchpoint is not None and touchpoint.is_registered
    assert (touchpoint.group, touchpoint.entry_type) == ("sms", "owned")
    (sent,) = session.scalars(select(OutboxEvent).where(OutboxEvent.event == "Message Sent"))
    assert sent.touchpoint == "message-sms"
    assert find_customer(session, "u1").first_touchpoint == "store-qr"

    credit = _report("attribution", "2026-11-11", "--model", "last_touch", "--lookback-days", "7")
    rows = {row["touchpoint"]: row for row in credit["touchpoints"]}
    assert rows["message-sms"]["conversions"] == 1 and rows["message-sms"]["entry_type"] == "owned"
    first = _report("attribution", "2026-11-11", "--model", "first_touch", "--lookback-days", "7")
    assert {row["touchpoint"] for row in first["touchpoints"]} == {"store-qr"}
    # The day of the message alone: the customer did nothing, so no visitor.
    assert _report("gmv", "2026-11-10")["total"]["current"]["visitors"] == 0
    assert _report("gmv", "2026-11-09")["total"]["current"]["visitors"] == 1


def _own_times(customer: Customer) -> tuple:
    return (
        customer.first_touchpoint,
        customer.last_touchpoint,
        customer.first_seen_at,
        customer.last_seen_at,
        customer.first_touch_at,
        customer.last_touch_at,
    )
