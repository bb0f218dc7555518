"""The one writer of the outbox: every event, the customer's, the brand's or the system's, is
stored by write() with its dedup key, then handed to the subscribers.

Ingest publishes what happened; the domains that care (orders kept by order events, unknown
touchpoint codes registered, a guide's message task carried out by a `Message Sent`) subscribe,
and a domain that must refuse an event it could not apply gives ingest a check. Both are set in
one place above the domains (siyu.subscribers), so `events` imports no feature domain.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from siyu.core.db import table_of
from siyu.core.settings import get_settings
from siyu.events.models import OutboxEvent, ReceivedMessage

# A subscriber gets the rows just written (dicts in the outbox's columns, JSON as text) and
# works in the writer's transaction: what it changes commits or rolls back with the events.
Subscriber = Callable[[Session, list[dict[str, Any]]], Any]
# A check (by track event name) raises SiyuError naming the field when its domain could not
# apply the event (event name, properties): ingest refuses it before anything is written.
Check = Callable[[str, dict[str, Any]], Any]
NOT_WIRED = "no subscribers set: call siyu.subscribers.wire() when the process starts"
_subscribers: list[Subscriber] = []
_checks: dict[str, Check] = {}
_wired: list[bool] = []  # set by subscribe(): publishing to nobody by mistake loses work
# Called with the session factory and the events shipped after each of the shipper's rounds (an
# auto-tag pass for the new events); set with the subscribers, and kept beside them so that
# wiring a process does not load the shipper and PyArrow (events/shipper.py reads it).
AfterShipping = Callable[[sessionmaker[Session], int], object]
_after_shipping: list[AfterShipping] = []


@dataclass(frozen=True)
class SourceRef:
    id: int
    name: str


def subscribe(subscribers: Iterable[Subscriber], checks: Mapping[str, Check] | None = None) -> None:
    """Who hears of every event written from now on, and the checks an event must pass to be
    accepted (each replacing any earlier ones)."""
    _subscribers[:] = list(subscribers)
    _checks.clear()
    _checks.update(checks or {})
    _wired[:] = [True]


def subscribers() -> list[Subscriber]:
    return list(_subscribers)


def when_shipped(callbacks: Iterable[AfterShipping]) -> None:
    """What the shipper calls after each round (replacing any earlier list)."""
    _after_shipping[:] = list(callbacks)


def after_shipping() -> list[AfterShipping]:
    return list(_after_shipping)


def check_for(event: str | None) -> Check | None:
    """The check a track event of this name must pass, if its domain asked for one."""
    if not _wired:
        raise RuntimeError(NOT_WIRED)
    return _checks.get(event) if event else None


def write(session: Session, source: SourceRef, rows: list[dict[str, Any]]) -> None:
    """Store events (rows from event_row()) with their dedup keys, and publish them; the caller
    commits. An event older than `backfill_after_hours` when received is marked a backfill."""
    if not rows:
        return
    if not _wired:
        raise RuntimeError(NOT_WIRED)
    stale = timedelta(hours=get_settings().backfill_after_hours)
    for row in rows:
        row["backfill"] = row["timestamp"] < row["received_at"] - stale
    # Table (Core) inserts: one executemany each. The ORM's bulk insert leaves out None values
    # and starts a new statement whenever the set of keys changes, i.e. almost every row.
    session.execute(
        insert(table_of(ReceivedMessage)),
        [{"source_id": source.id, "message_id": row["message_id"]} for row in rows],
    )
    session.execute(insert(table_of(OutboxEvent)), rows)
    for subscriber in _subscribers:
        subscriber(session, rows)


def event_row(
    *,
    message_id: str,
    source: str,
    timestamp: datetime,
    received_at: datetime,
    customer_id: int | None,
    type: str = "track",
    event: str | None = None,
    name: str | None = None,
    user_id: str | None = None,
    anonymous_id: str | None = None,
    group_id: str | None = None,
    previous_id: str | None = None,
    touchpoint: str | None = None,
    original_timestamp: datetime | None = None,
    sent_at: datetime | None = None,
    properties: dict[str, Any] | None = None,
    traits: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One event in the outbox's columns, ready for write()."""
    return {
        "message_id": message_id,
        "source": source,
        "type": type,
        "event": event,
        "name": name,
        "user_id": user_id,
        "anonymous_id": anonymous_id,
        "group_id": group_id,
        "previous_id": previous_id,
        "customer_id": customer_id,
        "touchpoint": touchpoint,
        "timestamp": timestamp,
        "original_timestamp": original_timestamp,
        "sent_at": sent_at,
        "received_at": received_at,
        "properties": _json(properties),
        "traits": _json(traits),
        "context": _json(context),
    }


def _json(value: dict[str, Any] | None) -> str:
    return orjson.dumps(value, default=str).decode() if value else "{}"
