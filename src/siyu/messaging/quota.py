"""A channel's daily quota (`channels.config["daily_quota"]`, an SMS package's limit a day), kept
where messages are handed over: once the brand's day has had its quota, the channel's due
deliveries wait, still planned, for the next day (a marketing one for the end of that morning's
quiet hours in the recipient's zone). Nothing over the quota fails or is lost."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core.settings import get_settings
from siyu.customers.models import Customer
from siyu.messaging import clock, policy
from siyu.messaging.models import Delivery

# A delivery in one of these was handed to the provider at its send_at (the dispatcher sets it
# at the hand-over), so it counts against that day's quota.
HANDED = ("sending", "pending", "sent", "delivered", "failed")


def left_today(
    session: Session, channel: str, config: dict[str, Any] | None, now: datetime
) -> int | None:
    """How many more the channel may hand over in the brand's day holding `now`; None: no quota."""
    quota = (config or {}).get("daily_quota")
    if not quota:
        return None
    start, end = clock.period_bounds(now, get_settings().zone, "day")
    handed = session.scalar(
        select(func.count())
        .select_from(Delivery)
        .where(
            Delivery.channel == channel,
            Delivery.status.in_(HANDED),
            Delivery.send_at >= start,
            Delivery.send_at < end,
        )
    )
    return int(quota) - int(handed or 0)


def wait_for_next_day(session: Session, channel: str, now: datetime) -> int:
    """Move a batch of the channel's due deliveries to the next day; how many moved."""
    due = session.scalars(
        select(Delivery)
        .where(Delivery.channel == channel, Delivery.status == "planned", Delivery.send_at <= now)
        .order_by(Delivery.send_at, Delivery.id)
        .limit(get_settings().dispatch_batch)
    ).all()
    if not due:
        return 0
    brand = get_settings().zone
    _, tomorrow = clock.period_bounds(now, brand, "day")
    window = policy.load_policy(session).window_for(channel)
    zones = _zones(session, sorted({d.customer_id for d in due}))
    for delivery in due:
        if delivery.purpose == "marketing":
            zone = zones.get(delivery.customer_id) or brand
            delivery.send_at = clock.opening(tomorrow, zone, window)
        else:
            delivery.send_at = tomorrow
    session.flush()
    return len(due)


def _zones(session: Session, customer_ids: list[int]) -> dict[int, Any]:
    rows = session.execute(
        select(Customer.id, Customer.traits).where(Customer.id.in_(customer_ids))
    ).all()
    return {cid: clock.zone_of((traits or {}).get("timezone")) for cid, traits in rows}
