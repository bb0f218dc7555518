"""A brand built through the product: messages ingested, shipped to the lake, snapshotted."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from siyu import snapshots
from siyu.core.db import unit_of_work
from siyu.customers.service import find_customer
from siyu.events import shipper
from siyu.events.service import SourceRef, ingest
from siyu.events.sources import create_key

_ids = itertools.count(1)


class Brand:
    def __init__(self) -> None:
        with unit_of_work() as s:
            source, _ = create_key(s, f"shop-{next(_ids)}")
            self.source = SourceRef(source.id, source.name)

    def send(self, *messages: dict) -> None:
        with unit_of_work() as s:
            result = ingest(s, self.source, list(messages), datetime.now(UTC))
            assert not result.rejected, result.rejected

    def ship(self) -> None:
        shipper.ship_all()
        snapshots.refresh()

    def customer_id(self, user_id: str) -> int:
        with unit_of_work() as s:
            return find_customer(s, user_id).id


def at(day: str) -> str:
    return f"{day}T12:00:00+08:00"


def identify(user_id: str, when: str, **traits) -> dict:
    return {
        "type": "identify",
        "userId": user_id,
        "traits": traits,
        "timestamp": at(when),
        "messageId": f"i{next(_ids)}",
    }


def track(user_id: str, event: str, when: str, **properties) -> dict:
    return {
        "type": "track",
        "userId": user_id,
        "event": event,
        "properties": properties,
        "timestamp": at(when),
        "messageId": f"t{next(_ids)}",
    }


def order(user_id: str, when: str, yuan: float) -> dict:
    return track(user_id, "Order Completed", when, order_id=f"o{next(_ids)}", revenue=yuan)
