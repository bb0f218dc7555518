"""Builders the messaging tests share: customers with addresses, and planned deliveries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.db import utcnow
from siyu.customers.service import find_customer
from siyu.events.service import ingest
from siyu.events.sources import internal_source
from siyu.messaging.models import Delivery
from siyu.staff.models import Staff
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


def guide_deliveries(
    session: Session, guides: tuple[str, ...], content: dict, key_prefix: str = "test:7"
) -> dict[str, list[int]]:
    """A send (origin test, 7) on WeCom to two customers of each guide (a staff member whose
    WeCom user id is the guide's name; the customers' external ids `wm-<guide>-<n>`), due a
    second ago: the deliveries' ids by guide."""
    ids: dict[str, list[int]] = {}
    for guide in guides:
        staff = Staff(name=guide.title(), wecom_userid=guide)
        session.add(staff)
        session.flush()
        for n in range(2):
            cid = customer(session, f"{guide}-{n}")
            row = delivery(
                session,
                cid,
                "wecom",
                key=f"{key_prefix}:{cid}",
                address=f"wm-{guide}-{n}",
                content=dict(content),
                send_at=utcnow() - timedelta(seconds=1),
                origin_id=7,
                guide_id=staff.id,
            )
            ids.setdefault(guide, []).append(row.id)
    return ids


def statuses(session: Session, ids: list[int]) -> list[tuple[str, str | None]]:
    """The deliveries' (status, reason), in id order, read afresh."""
    session.expire_all()
    rows = session.scalars(select(Delivery).where(Delivery.id.in_(ids)).order_by(Delivery.id))
    return [(d.status, d.reason) for d in rows]
