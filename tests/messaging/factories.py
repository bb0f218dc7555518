"""Builders the messaging tests share: customers with addresses, and planned deliveries."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from siyu.customers.service import find_customer
from siyu.events.service import ingest
from siyu.events.sources import internal_source
from siyu.messaging.models import Delivery
from tests.helpers import identify

NOW = datetime(2026, 12, 7, 2, tzinfo=UTC)


def customer(session: Session, user_id: str, **traits: str) -> int:
    """A customer known by `user_id` and the identities in its traits (phone, email, …)."""
    source = internal_source(session, "mall")
    ingest(session, source, [identify(user_id, traits)], NOW)
    return find_customer(session, user_id).id


def delivery(
    session: Session,
    customer_id: int,
    channel: str = "email",
    *,
    key: str | None = None,
    address: str | None = None,
    purpose: str = "marketing",
    send_at: datetime = NOW,
    content: dict | None = None,
    **fields,
) -> Delivery:
    row = Delivery(
        key=key or f"test:{channel}:{customer_id}:{purpose}:{send_at.isoformat()}",
        origin="test",
        customer_id=customer_id,
        channel=channel,
        purpose=purpose,
        address=address,
        send_at=send_at,
        content=content or {"subject": "Hi", "text": "Hello", "html": "<p>Hello</p>"},
        **fields,
    )
    session.add(row)
    session.flush()
    return row
