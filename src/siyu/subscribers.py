"""Who acts on the events written to the outbox, listed in one place above the domains.

`events` publishes every event it writes (events.outbox.write) and imports no feature domain;
a domain that cares about what happened is named here, and so are a domain's check that refuses
an event it could not apply, the work the shipper asks for after each round, and the writer of
the lake's snapshot tables (which reads the domains' OLTP tables). Each entry point
(the app factory, the `siyu` command, the tests) calls wire() once: nothing subscribes by being
imported.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from siyu.core import lake
from siyu.core.lake import Lake
from siyu.events import outbox
from siyu.journeys.admission import admit_events
from siyu.journeys.engine import wake_waiting
from siyu.messaging.channels.official_account import follow_changes
from siyu.messaging.service import register_message_touchpoints
from siyu.orders.service import ORDER_EVENTS, apply_order_events, check_order_event
from siyu.promotions.flash import apply_orders as settle_flash_sale_orders
from siyu.promotions.members import apply_order_events as keep_member_tiers
from siyu.promotions.place_orders import apply_orders as take_activity_places
from siyu.promotions.service import apply_order_events as redeem_order_coupons
from siyu.tasks.events import complete_by_messages
from siyu.touchpoints.service import keep_unknown_of

SUBSCRIBERS: tuple[outbox.Subscriber, ...] = (
    register_message_touchpoints,  # a message's channel touchpoint, registered on first use
    keep_unknown_of,  # a touchpoint code seen for the first time is kept, unregistered
    apply_order_events,  # Order Completed / Order Refunded keep the orders table
    redeem_order_coupons,  # an order names its coupons: redeemed; fully refunded: returned
    settle_flash_sale_orders,  # an order names its flash-sale reservation: bought; refunded
    take_activity_places,  # an order names a group buy or a tiered price: its place taken
    keep_member_tiers,  # an order earns points (a refund reverses them) and recomputes the tier
    complete_by_messages,  # a guide's `Message Sent` carries out their message task
    follow_changes,  # an unfollow suppresses the official account's messages to the openid
    admit_events,  # a customer's event lets them into the journeys it starts
    wake_waiting,  # an entry waiting in a journey for this event goes on
)
# What ingest refuses before writing: an order event that could not keep the orders table.
CHECKS: dict[str, outbox.Check] = {event: check_order_event for event in ORDER_EVENTS}


def queue_auto_tags(
    factory: sessionmaker[Session], shipped: int, now: datetime | None = None
) -> None:
    """tags.jobs.after_shipping, imported at the first round: the auto-tag rules need the segment
    compiler and Ibis, which every `siyu` command wires but few ever ship with."""
    from siyu.tags.jobs import after_shipping

    after_shipping(factory, shipped, now)


# What the shipper thread asks for after each round.
AFTER_SHIPPING: tuple[outbox.AfterShipping, ...] = (
    queue_auto_tags,  # an auto-tag pass for the events just shipped
)


def wire() -> None:
    """Subscribe the domains to the events written and shipped in this process, and hand the
    lake its snapshot writer."""
    outbox.subscribe(SUBSCRIBERS, CHECKS)
    outbox.when_shipped(AFTER_SHIPPING)
    lake.snapshot_with(refresh_snapshots)


def refresh_snapshots(
    factory: sessionmaker[Session] | None = None,
    lake: Lake | None = None,
    *,
    always: bool = False,
) -> dict[str, int] | None:
    """snapshots.refresh, imported at the first refresh: it writes Arrow tables (PyArrow), which
    every `siyu` command wires but few ever write."""
    from siyu.snapshots import refresh

    return refresh(factory, lake, always=always)
