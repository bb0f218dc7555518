"""Small lakes for report tests: rows written as Parquet in the lake's own layout."""

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
_serial = itertools.count(1)


@dataclass
class LakeRows:
    customers: list[dict] = field(default_factory=list)
    orders: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    touchpoints: list[dict] = field(default_factory=list)
    customer_map: list[dict] = field(default_factory=list)
    customer_tags: list[dict] = field(default_factory=list)

    def customer(self, customer_id: int, *, merged_into: int | None = None, **fields) -> dict:
        row = {name: None for name in SNAPSHOT_SCHEMAS["customers"].names}
        row.update(customer_id=customer_id, merged_into_id=merged_into, traits="{}")
        row["created_at"] = fields.pop("created_at", datetime(2026, 1, 1, tzinfo=SHANGHAI))
        row["first_seen_at"] = fields.pop("first_seen_at", row["created_at"])
        row.update(fields)
        self.customers.append(row)
        self.customer_map.append(
            {"customer_id": customer_id, "canonical_id": merged_into or customer_id}
        )
        return row

    def event(self, customer_id: int, event: str, at: datetime, **properties) -> dict:
        row = {name: None for name in EVENTS_SCHEMA.names}
        row.update(
            outbox_id=next(_serial),
            message_id=f"m{next(_serial)}",
            type="track",
            event=event,
            customer_id=customer_id,
            touchpoint=properties.get("touchpoint"),
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

    def order(self, customer_id: int, paid_at: datetime, amount_fen: int, **fields) -> dict:
        row = {name: None for name in SNAPSHOT_SCHEMAS["orders"].names}
        row.update(
            order_id=f"o{next(_serial)}",
            customer_id=customer_id,
            status="completed",
            amount_fen=amount_fen,
            refunded_fen=0,
            paid_at=paid_at,
            products="[]",
        )
        if "products" in fields:
            fields["products"] = orjson.dumps(fields["products"]).decode()
        row.update(fields)
        self.orders.append(row)
        return row

    def touchpoint(self, code: str, group: str = "other", entry_type: str = "owned") -> None:
        self.touchpoints.append({"code": code, "group": group, "entry_type": entry_type})

    def tag(self, customer_id: int, tag: str) -> None:
        self.customer_tags.append({"customer_id": customer_id, "tag": tag})


def write_lake(root: Path, rows: LakeRows) -> None:
    """The rows as the lake's files; events in one partition per day (the partition names do not
    matter to reports)."""
    names = ["customers", "customer_map", "orders", "touchpoints"]
    names += ["customer_tags"] if rows.customer_tags else []
    for name in names:
        schema = SNAPSHOT_SCHEMAS[name]
        table = pa.Table.from_pylist(getattr(rows, name), schema=schema)
        (root / name).mkdir(parents=True, exist_ok=True)
        pq.write_table(table, root / name / "snapshot.parquet")
    by_day: dict[str, list[dict]] = {}
    for event in rows.events:
        by_day.setdefault(event["timestamp"].astimezone(SHANGHAI).date().isoformat(), []).append(
            event
        )
    for day, events in by_day.items():
        folder = root / "events" / f"date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(events, schema=EVENTS_SCHEMA), folder / "part.parquet")
