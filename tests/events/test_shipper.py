"""Outbox → lake: every accepted event reaches the lake once, whatever fails on the way."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from siyu.core.lake import duckdb_connection, open_lake
from siyu.events import shipper
from siyu.events.models import LakeBatch, OutboxEvent
from siyu.snapshots import write_snapshots
from tests.helpers import identify, post_batch, track


def _lake_ids(lake) -> list[str]:
    conn = duckdb_connection(lake)
    return [
        r[0] for r in conn.execute("SELECT message_id FROM events ORDER BY message_id").fetchall()
    ]


def test_shipped_events_have_the_lake_columns_and_brand_zone_dates(client, write_key):
    # 23:30 in Shanghai on Nov 11 is 15:30 UTC: the event belongs to Nov 11's partition.
    post_batch(
        client,
        write_key,
        [
            track(
                "Order Completed",
                timestamp="2026-11-11T23:30:00+08:00",
                properties={"order_id": "o1", "revenue": "12.50", "touchpoint": "store-01"},
            ),
        ],
    )
    lake = open_lake()
    assert shipper.ship_once(lake=lake) == 1
    conn = duckdb_connection(lake)
    row = conn.execute(
        "SELECT message_id, type, event, user_id, anonymous_id, customer_id, "
        "touchpoint, timestamp, received_at, source, backfill, properties, date "
        "FROM events"
    ).fetchone()
    assert row[1:5] == ("track", "Order Completed", "u1", None)
    assert row[5] is not None and row[6] == "store-01" and row[9] == "mall"
    assert str(row[12]) == "2026-11-11"
    assert '"revenue":"12.50"' in row[11]


def test_crash_after_writing_files_reships_to_the_same_names(
    client, write_key, monkeypatch, session
):
    post_batch(client, write_key, [track(f"E{i}") for i in range(30)])
    lake = open_lake()
    real_mark = shipper.mark_shipped

    def crash(*args, **kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(shipper, "mark_shipped", crash)
    with pytest.raises(RuntimeError):
        shipper.ship_once(lake=lake, size=20)
    # More events arrive before the shipper comes back.
    post_batch(client, write_key, [track(f"Late{i}") for i in range(5)])
    monkeypatch.setattr(shipper, "mark_shipped", real_mark)
    assert shipper.ship_all(lake=lake) == 35
    ids = _lake_ids(lake)
    assert len(ids) == len(set(ids)) == 35
    assert session.scalar(select(func.count()).where(OutboxEvent.shipped_at.is_(None))) == 0


def test_crash_while_claiming_loses_nothing(client, write_key, monkeypatch):
    post_batch(client, write_key, [track(f"E{i}") for i in range(10)])
    lake = open_lake()
    monkeypatch.setattr(shipper, "write_batch", lambda *a: (_ for _ in ()).throw(OSError("disk")))
    with pytest.raises(OSError):
        shipper.ship_once(lake=lake)
    monkeypatch.undo()
    shipper.ship_all(lake=lake)
    assert len(_lake_ids(lake)) == 10


def test_compaction_keeps_every_event_once(client, write_key, session):
    lake = open_lake()
    for i in range(6):
        post_batch(
            client,
            write_key,
            [track(f"E{i}-{j}", timestamp="2026-11-20T10:00:00Z") for j in range(4)],
        )
        shipper.ship_once(lake=lake)
    assert len(lake.files("events/date=2026-11-20")) == 6
    removed = shipper.compact(lake=lake, min_files=3, settled_seconds=0)
    assert removed == 6
    assert len(lake.files("events/date=2026-11-20")) == 1
    ids = _lake_ids(lake)
    assert len(ids) == len(set(ids)) == 24


def test_compaction_interrupted_after_rename_finishes_on_the_next_run(
    client, write_key, monkeypatch
):
    lake = open_lake()
    for i in range(3):
        post_batch(client, write_key, [track(f"E{i}", timestamp="2026-11-20T10:00:00Z")])
        shipper.ship_once(lake=lake)
    monkeypatch.setattr(shipper, "_drop_inputs", lambda *a: (_ for _ in ()).throw(OSError("kill")))
    with pytest.raises(OSError):
        shipper.compact(lake=lake, min_files=3, settled_seconds=0)
    monkeypatch.undo()
    shipper.compact(lake=lake, min_files=99, settled_seconds=0)  # recovery alone, no new compaction
    files = lake.files("events/date=2026-11-20")
    assert len(files) == 1 and "compact-" in files[0]
    assert len(_lake_ids(lake)) == 3


def test_lake_status_counts_waiting_and_shipped(client, write_key, session):
    post_batch(client, write_key, [track("A"), track("B")])
    assert shipper.status(session)["waiting"] == 2
    shipper.ship_all()
    info = shipper.status(session)
    assert (info["waiting"], info["shipped"], info["files"]) == (0, 2, 1)
    assert session.scalar(select(LakeBatch.status)) == "shipped"


def test_snapshots_resolve_merged_customers_to_the_kept_one(client, write_key, session):
    from siyu.core.db import unit_of_work
    from siyu.customers.service import merge_customers

    post_batch(
        client,
        write_key,
        [
            identify("u-1"),
            identify("u-2"),
            track("Order Completed", user_id="u-2", properties={"order_id": "o9", "revenue": 5}),
        ],
    )
    with unit_of_work() as s:
        record = merge_customers(s, "u-2", "u-1", "test")
    shipper.ship_all()
    written = write_snapshots()
    assert written["customers"] == 2 and written["orders"] == 1
    conn = duckdb_connection()
    canonical = conn.execute(
        "SELECT canonical_id FROM customer_map WHERE customer_id = ?", [record.merged_id]
    ).fetchone()[0]
    assert canonical == record.kept_id
    resolved = conn.execute(
        "SELECT DISTINCT m.canonical_id FROM events e JOIN customer_map m USING (customer_id)"
    ).fetchall()
    assert resolved == [(record.kept_id,)]


def test_lake_flush_cli_ships_everything(client, write_key):
    from typer.testing import CliRunner

    from siyu.cli import app

    post_batch(client, write_key, [track("A"), track("B"), track("C")])
    result = CliRunner().invoke(app, ["lake", "flush"])
    assert result.exit_code == 0, result.output
    assert "shipped 3 events" in result.output
    assert len(_lake_ids(open_lake())) == 3


def test_files_another_shipper_may_still_be_writing_are_not_compacted(client, write_key):
    lake = open_lake()
    for i in range(3):
        post_batch(client, write_key, [track(f"E{i}", timestamp="2026-11-20T10:00:00Z")])
        shipper.ship_once(lake=lake)
    assert shipper.compact(lake=lake, min_files=3) == 0  # all just written: not settled yet
    assert len(lake.files("events/date=2026-11-20")) == 3


def test_a_new_snapshot_never_replaces_the_file_a_reader_is_on(client, write_key, monkeypatch):
    """Each snapshot is a new file; the one a DuckDB view already names stays readable (DuckDB
    opens it again between planning and scanning) until the grace period has passed."""
    post_batch(client, write_key, [track("Product Viewed", "u1")])
    write_snapshots()
    lake = open_lake()
    first = lake.snapshot("customers")
    reader = duckdb_connection(lake)  # its views name the first files
    post_batch(client, write_key, [track("Product Viewed", "u2")])
    write_snapshots()
    second = lake.snapshot("customers")
    assert second != first and set(lake.files("customers")) == {first, second}
    assert reader.execute("SELECT count(*) FROM customers").fetchone() == (1,)
    assert duckdb_connection(lake).execute("SELECT count(*) FROM customers").fetchone() == (2,)
    monkeypatch.setattr("siyu.snapshots.SNAPSHOT_GRACE_SECONDS", -1)
    write_snapshots()  # past the grace period, the replaced files go
    assert len(lake.files("customers")) == 1
