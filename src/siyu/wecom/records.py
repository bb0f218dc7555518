"""Record what WeCom (or the official account) told us as events, through ingest, so the
customer, their identities, first touchpoint and the lake all follow from one path."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.db import utcnow
from siyu.customers.models import Customer, Identity
from siyu.events.service import ingest
from siyu.events.sources import internal_source


def message_id(*parts: object) -> str:
    """A stable messageId from the callback's natural key: a reprocessed callback is a duplicate."""
    digest = hashlib.sha256("\0".join(str(p) for p in parts).encode()).hexdigest()
    return f"{parts[0]}-{digest[:40]}"


def at_time(create_time: object) -> datetime:
    """WeCom's CreateTime (Unix seconds) in UTC; now when it is missing."""
    try:
        return datetime.fromtimestamp(int(str(create_time)), UTC)
    except (TypeError, ValueError):
        return utcnow()


def record(
    session: Session,
    source: str,
    anonymous_id: str,
    traits: dict,
    messages: list[dict],
    at: datetime,
) -> None:
    """Store `messages` (track/identify bodies) for the person these traits identify."""
    ref = internal_source(session, source)
    stamped = [
        {
            "anonymousId": anonymous_id,
            "timestamp": at.isoformat(),
            "context": {"traits": traits},
            **message,
        }
        for message in messages
    ]
    result = ingest(session, ref, stamped, utcnow())
    if result.rejected:
        problem = result.rejected[0]
        raise ValueError(f"{problem.field}: {problem.reason}")


def customer_of(session: Session, kind: str, value: str) -> Customer | None:
    """The customer an identity names today (after merges)."""
    customer_id = session.scalar(
        select(Identity.customer_id).where(Identity.type == kind, Identity.value == value)
    )
    customer = session.get(Customer, customer_id) if customer_id else None
    while customer is not None and customer.merged_into_id is not None:
        customer = session.get(Customer, customer.merged_into_id)
    return customer


def recorded_customer(session: Session, kind: str, value: str) -> Customer:
    """The customer of an identity just recorded, which always names one."""
    customer = customer_of(session, kind, value)
    if customer is None:
        raise LookupError(f"no customer has the {kind} just recorded")
    return customer
