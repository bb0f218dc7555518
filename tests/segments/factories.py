"""Small lakes for segment tests: rows written as Parquet in the lake's own layout."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from siyu.core.lake_schema import EVENTS_SCHEMA, SNAPSHOT_SCHEMAS

SHANGHAI = ZoneInfo("Asia/Shanghai")
_messages = itertools.count(1)


@dataclass
class LakeRows:
    customers: list[dict] = field(default_factory=list)
    identities: list[dict] = field(default_factory=list)
    orders: list[dict] = field(default_factory=list)
    customer_tags: list[dict] | None = None  # None: the lake has no customer_tags table
    events: list[dict] = field(default_factory=list)
    touchpoints: list[dict] = field(default_factory=list)

    def customer(self, customer_id: int, *, merged_into: int | None = None, **fields) -> dict:
        row = {
            "customer_id": customer_id,
            "merged_into_id": merged_into,
            "created_at": fields.pop("created_at", datetime(2020, 1, 1, tzinfo=SHANGHAI)),
            "first_seen_at": None,
            "first_touchpoint": None,
            "last_touchpoint": None,
            "owner_id": None,
            "store_id": None,
            "traits": orjson.dumps(fields.pop("traits", {})).decode(),
        }
        row.update(fields)
        self.customers.append(row)
        return row

    def event(self, customer_id: int, event: str, at: datetime, **properties) -> dict:
        row = {name: None for name in EVENTS_SCHEMA.names}
        row.update(
            outbox_id=next(_messages),
            message_id=f"m{next(_messages)}",
            type="track",
            event=event,
            customer_id=customer_id,
            timestamp=at,
            received_at=at,
            source="test",
            backfill=False,
            properties=orjson.dumps(properties).decode(),
            traits="{}",
            context="{}",
        )
        self.events.append(row)
        return row

    def order(self, customer_id: int, paid_at: datetime | None, amount_fen: int, **fields):
        row = {
            "customer_id": customer_id,
            "status": "completed",
            "amount_fen": amount_fen,
            "refunded_fen": 0,
            "paid_at": paid_at,
        }
        row.update(fields)
        self.orders.append(row)
        return row

    def touchpoint(self, code: str, group: str = "other", **fields) -> None:
        row = {"code": code, "name": code, "group": group, "is_registered": True}
        self.touchpoints.append(row | fields)

    def user_id(self, customer_id: int, value: str) -> None:
        self.identities.append({"type": "user_id", "value": value, "customer_id": customer_id})

    def tag(self, customer_id: int, tag: str) -> None:
        self.customer_tags = (self.customer_tags or []) + [{"customer_id": customer_id, "tag": tag}]


def write_lake(root: Path, rows: LakeRows, zone: ZoneInfo = SHANGHAI) -> Path:
    """Write every table as the shipper and the snapshots would; returns root."""
    _write(root / "customers" / "snapshot.parquet", rows.customers, "customers")
    _write(root / "customer_map" / "snapshot.parquet", customer_map(rows.customers), "customer_map")
    _write(root / "identities" / "snapshot.parquet", rows.identities, "identities")
    _write(root / "orders" / "snapshot.parquet", rows.orders, "orders")
    _write(root / "touchpoints" / "snapshot.parquet", rows.touchpoints, "touchpoints")
    if rows.customer_tags is not None:
        _write(root / "customer_tags" / "snapshot.parquet", rows.customer_tags, "customer_tags")
    for day, events in _by_date(rows.events, zone).items():
        first, last = events[0]["outbox_id"], events[-1]["outbox_id"]
        path = root / "events" / f"date={day}" / f"part-{first:020d}-{last:020d}.parquet"
        _write(path, events, "events")
    return root


def customer_map(customers: list[dict]) -> list[dict]:
    parent = {c["customer_id"]: c["merged_into_id"] for c in customers}

    def canonical(cid: int) -> int:
        while parent.get(cid) is not None:
            cid = parent[cid]
        return cid

    return [{"customer_id": c, "canonical_id": canonical(c)} for c in sorted(parent)]


def _by_date(events: list[dict], zone: ZoneInfo) -> dict[str, list[dict]]:
    days: dict[str, list[dict]] = {}
    for row in sorted(events, key=lambda r: r["outbox_id"]):
        days.setdefault(row["timestamp"].astimezone(zone).date().isoformat(), []).append(row)
    return days


def _write(path: Path, rows: list[dict], table: str) -> None:
    """Rows as a file of the lake's `table`, in its declared schema (absent columns null)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    schema = EVENTS_SCHEMA if table == "events" else SNAPSHOT_SCHEMAS[table]
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
