"""The lake's tables and their schemas, declared once: what the shipper and the snapshot writer
write, and what the report runner, the segment compiler and the pages read (core/lake_tables.py).

`events` is appended to by the shipper, one folder per brand day (`events/date=D/`); every other
table is a snapshot of OLTP tables, rewritten whole when the database changed (siyu/snapshots.py).
"""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")
EVENTS = "events"
PARTITION = "date"  # the events' folder: the brand's day when the shipper wrote the event

# An event as the outbox holds it; properties, traits and context are JSON text.
EVENTS_SCHEMA = pa.schema(
    [
        ("outbox_id", pa.int64()),
        ("message_id", pa.string()),
        ("type", pa.string()),
        ("event", pa.string()),
        ("name", pa.string()),
        ("user_id", pa.string()),
        ("anonymous_id", pa.string()),
        ("group_id", pa.string()),
        ("previous_id", pa.string()),
        ("customer_id", pa.int64()),
        ("touchpoint", pa.string()),
        ("timestamp", TS),
        ("original_timestamp", TS),
        ("sent_at", TS),
        ("received_at", TS),
        ("source", pa.string()),
        ("backfill", pa.bool_()),
        ("properties", pa.string()),
        ("traits", pa.string()),
        ("context", pa.string()),
    ]
)

SNAPSHOT_SCHEMAS: dict[str, pa.Schema] = {
    # every customer id ever issued, merged ones too (merged_into_id); traits are JSON text
    "customers": pa.schema(
        [
            ("customer_id", pa.int64()),
            ("merged_into_id", pa.int64()),
            ("created_at", TS),
            ("first_seen_at", TS),
            ("last_seen_at", TS),
            ("first_touchpoint", pa.string()),
            ("last_touchpoint", pa.string()),
            ("owner_id", pa.int64()),
            ("store_id", pa.int64()),
            ("is_identified", pa.bool_()),
            ("traits", pa.string()),
        ]
    ),
    # every customer id ever issued → the customer it belongs to after merges
    "customer_map": pa.schema([("customer_id", pa.int64()), ("canonical_id", pa.int64())]),
    "identities": pa.schema(
        [("type", pa.string()), ("value", pa.string()), ("customer_id", pa.int64())]
    ),
    # products is JSON text (a list)
    "orders": pa.schema(
        [
            ("order_id", pa.string()),
            ("customer_id", pa.int64()),
            ("status", pa.string()),
            ("amount_fen", pa.int64()),
            ("refunded_fen", pa.int64()),
            ("paid_at", TS),
            ("refunded_at", TS),
            ("store", pa.string()),
            ("touchpoint", pa.string()),
            ("source", pa.string()),
            ("products", pa.string()),
        ]
    ),
    "touchpoints": pa.schema(
        [
            ("code", pa.string()),
            ("name", pa.string()),
            ("group", pa.string()),
            ("entry_type", pa.string()),
            ("store_id", pa.int64()),
            ("owner_id", pa.int64()),
            ("is_registered", pa.bool_()),
        ]
    ),
    # what each paid touchpoint cost in each period (attribution's ROI)
    "touchpoint_costs": pa.schema(
        [
            ("code", pa.string()),
            ("period_start", TS),
            ("period_end", TS),
            ("cost_fen", pa.int64()),
        ]
    ),
    "customer_tags": pa.schema([("customer_id", pa.int64()), ("tag", pa.string())]),
}
SNAPSHOTS = tuple(SNAPSHOT_SCHEMAS)

# Every table as a reader sees it: the events with their day partition.
TABLES: dict[str, pa.Schema] = {
    EVENTS: EVENTS_SCHEMA.append(pa.field(PARTITION, pa.date32())),
    **SNAPSHOT_SCHEMAS,
}
