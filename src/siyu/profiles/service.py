"""The customer 360 (客户画像): one customer as a whole, read across the domains that each hold a
part of it: identities and merges (customers), orders, tags, and the latest events."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.customers.models import CustomerMerge, Identity
from siyu.customers.service import find_visible_customer, merged_ids
from siyu.events.models import OutboxEvent
from siyu.orders.models import Order
from siyu.tags.service import family_tags

# A Chinese mobile number as people write it (13800138000, +86 138-0013-8000), not inside a longer
# run of digits: what a guide may not see in full anywhere.
_MOBILE = re.compile(r"(?<!\d)((?:\+|00)?86[\s-]?)?(1[3-9]\d)[\s-]?\d{4}[\s-]?(\d{4})(?!\d)")


def sees_full_phones(role: str) -> bool:
    """Whether this role sees phone numbers in full, wherever it looks (console, API): guides
    never do, their own customers' neither (a guide's phone is easily lost or shared, and a
    customer's number would leave with a guide who leaves)."""
    return role != "guide"


def mask_phone(value: str | None) -> str:
    """138****5678: a phone number as a guide sees it (the first three and last four digits)."""
    if not value:
        return value or ""
    masked = _MOBILE.sub(r"\2****\3", value)
    if masked != value or len(value) < 7:
        return masked
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_phones(value: Any) -> Any:
    """The value with every mobile number in it masked, however deep (traits, event properties)."""
    if isinstance(value, str):
        return _MOBILE.sub(r"\2****\3", value)
    if isinstance(value, int) and not isinstance(value, bool) and _MOBILE.fullmatch(str(value)):
        return mask_phones(str(value))
    if isinstance(value, dict):
        return {key: mask_phones(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_phones(item) for item in value]
    return value


def order_summary(session: Session, customer_ids: list[int]) -> dict:
    row = session.execute(
        select(
            func.count(Order.id),
            func.coalesce(func.sum(Order.amount_fen), 0),
            func.coalesce(func.sum(Order.refunded_fen), 0),
            func.min(Order.paid_at),
            func.max(Order.paid_at),
        ).where(Order.customer_id.in_(customer_ids), Order.paid_at.is_not(None))
    ).one()
    count, gross, refunded, first, last = row
    net = int(gross) - int(refunded)
    return {
        "orders": count,
        "gross_fen": int(gross),
        "refunded_fen": int(refunded),
        "net_fen": net,
        "average_order_fen": round(net / count) if count else 0,
        "first_order_at": _iso(first),
        "last_order_at": _iso(last),
    }


def customer_360(
    session: Session,
    ref: str | int,
    events: int = 20,
    role: str = "admin",
    staff_id: int | None = None,
) -> dict:
    """Traits, identities, tags, orders, latest events and merge history of one customer."""
    customer = find_visible_customer(session, ref, role, staff_id)
    family = merged_ids(session, customer.id)
    identities = session.execute(
        select(Identity.type, Identity.value, Identity.created_at)
        .where(Identity.customer_id == customer.id)
        .order_by(Identity.id)
    ).all()
    orders = session.scalars(
        select(Order).where(Order.customer_id.in_(family)).order_by(Order.paid_at.desc()).limit(20)
    ).all()
    latest = session.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.customer_id.in_(family))
        .order_by(OutboxEvent.timestamp.desc(), OutboxEvent.id.desc())
        .limit(events)
    ).all()
    merges = session.scalars(
        select(CustomerMerge)
        .where((CustomerMerge.kept_id == customer.id) | (CustomerMerge.merged_id.in_(family)))
        .order_by(CustomerMerge.id)
    ).all()
    view = {
        "id": customer.id,
        "traits": customer.traits or {},
        "identities": [{"type": t, "value": v, "since": _iso(at)} for t, v, at in identities],
        "tags": family_tags(session, family),
        "owner_id": customer.owner_id,
        "store_id": customer.store_id,
        "first_seen_at": _iso(customer.first_seen_at),
        "last_seen_at": _iso(customer.last_seen_at),
        "first_touchpoint": customer.first_touchpoint,
        "last_touchpoint": customer.last_touchpoint,
        "order_summary": order_summary(session, family),
        "orders": [_order(o) for o in orders],
        "latest_events": [_event(e) for e in latest],
        "merges": [_merge(m) for m in merges],
    }
    return view if sees_full_phones(role) else _as_guide_sees(view)


def _as_guide_sees(view: dict) -> dict:
    """Guides never see a full phone number (their own customers' neither): masked everywhere."""
    masked = mask_phones(view)
    for identity in masked["identities"]:
        if identity["type"] == "phone":
            identity["value"] = mask_phone(identity["value"])
    return masked


def _order(order: Order) -> dict:
    return {
        "order_id": order.order_id,
        "status": order.status,
        "amount_fen": order.amount_fen,
        "refunded_fen": order.refunded_fen,
        "paid_at": _iso(order.paid_at),
        "store": order.store,
        "touchpoint": order.touchpoint,
    }


def _event(row: OutboxEvent) -> dict:
    return {
        "message_id": row.message_id,
        "type": row.type,
        "event": row.event,
        "name": row.name,
        "touchpoint": row.touchpoint,
        "timestamp": _iso(row.timestamp),
        "source": row.source,
        "properties": json.loads(row.properties or "{}"),
    }


def _merge(record: CustomerMerge) -> dict:
    return {
        "id": record.id,
        "kept_id": record.kept_id,
        "merged_id": record.merged_id,
        "reason": record.reason,
        "actor": record.actor,
        "at": _iso(record.created_at),
        "undone_at": _iso(record.undone_at),
        "undone_by": record.undone_by,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
