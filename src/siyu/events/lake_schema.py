"""The lake's events table: its Arrow schema, and outbox rows turned into it."""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")

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

COLUMNS = [name for name in EVENTS_SCHEMA.names if name != "outbox_id"]
