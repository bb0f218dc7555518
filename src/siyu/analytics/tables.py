"""The lake's tables as Ibis tables on the configured engine (DuckDB, or Spark)."""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from threading import Lock

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from ibis.backends import BaseBackend
from ibis.common.exceptions import TableNotFound

from siyu.core.lake import EVENTS, Lake, duckdb_connection, open_lake
from siyu.core.settings import get_settings
from siyu.events.catalogue import TRACK, customer_calls, not_customer_events
from siyu.events.lake_schema import EVENTS_SCHEMA

TS = pa.timestamp("us", tz="UTC")

# The columns reports read: a table the lake does not have yet is an empty one of this shape.
SCHEMAS = {
    "events": pa.schema(
        [
            (name, EVENTS_SCHEMA.field(name).type)
            for name in ("customer_id", "type", "event", "touchpoint", "timestamp", "properties")
        ]
        # the partition: the brand's day when the event was written (during() prunes by it)
        + [("date", pa.date32())]
    ),
    "customers": pa.schema(
        [
            ("customer_id", pa.int64()),
            ("merged_into_id", pa.int64()),
            ("created_at", TS),
            ("first_seen_at", TS),
            ("first_touchpoint", pa.string()),
            ("last_touchpoint", pa.string()),
            ("owner_id", pa.int64()),
            ("store_id", pa.int64()),
            ("traits", pa.string()),
        ]
    ),
    "customer_map": pa.schema([("customer_id", pa.int64()), ("canonical_id", pa.int64())]),
    "identities": pa.schema(
        [("type", pa.string()), ("value", pa.string()), ("customer_id", pa.int64())]
    ),
    "customer_tags": pa.schema([("customer_id", pa.int64()), ("tag", pa.string())]),
    "orders": pa.schema(
        [
            ("order_id", pa.string()),
            ("customer_id", pa.int64()),
            ("status", pa.string()),
            ("amount_fen", pa.int64()),
            ("refunded_fen", pa.int64()),
            ("paid_at", TS),
            ("store", pa.string()),
            ("touchpoint", pa.string()),
            ("products", pa.string()),
        ]
    ),
    "touchpoints": pa.schema(
        [("code", pa.string()), ("group", pa.string()), ("entry_type", pa.string())]
    ),
    "touchpoint_costs": pa.schema(
        [
            ("code", pa.string()),
            ("period_start", TS),
            ("period_end", TS),
            ("cost_fen", pa.int64()),
        ]
    ),
}


@dataclass(frozen=True)
class Tables:
    """Every table a report reads, on one backend."""

    backend: BaseBackend
    events: ir.Table
    customers: ir.Table
    customer_map: ir.Table
    identities: ir.Table
    customer_tags: ir.Table
    orders: ir.Table
    touchpoints: ir.Table
    touchpoint_costs: ir.Table
    missing: tuple[str, ...] = ()  # tables the lake has no file of yet (read as empty ones)

    @property
    def engine(self) -> str:
        return self.backend.name

    @property
    def customer_events(self) -> ir.Table:
        """The events the customer did: what visitors, active customers, last visit and funnels'
        entry steps count. A message sent, a task, a coupon issued is the brand's and moves none
        of them (events/catalogue.py)."""
        return customer_acts(self.events)


def during(events: ir.Table, first: date, last: date) -> list[ir.BooleanValue]:
    """Conditions that keep only the day partitions that can hold events of the brand's days
    `first` to `last`, so an engine reads the period's files and not the whole lake. A day either
    side: a partition is the day in the zone the lake was written in."""
    return [events.date >= first - timedelta(days=1), events.date <= last + timedelta(days=1)]


def customer_acts(events: ir.Table) -> ir.Table:
    """`events` without the brand's and the system's."""
    is_track = events.type == TRACK
    return events.filter(
        (is_track & events.event.notin(not_customer_events())) | events.type.isin(customer_calls())
    )


def open_tables(lake: Lake | None = None, engine: str | None = None) -> Tables:
    """The lake on `engine` (default SIYU_ENGINE). Only the columns reports read are kept, so an
    older lake file with more columns reads the same."""
    lake = lake or open_lake()
    engine = engine or get_settings().engine
    if engine == "pyspark":
        backend = ibis.pyspark.connect(spark_session())
        found = {name: _spark_table(backend, lake, name) for name in SCHEMAS}
    else:
        # core.lake's views (any fsspec location); ibis keeps the session in UTC, and local days
        # come from zones.py, never from the session's zone.
        backend = ibis.duckdb.from_connection(duckdb_connection(lake))
        found = {name: _duckdb_table(backend, name) for name in SCHEMAS}
    tables = {
        name: table.select(*SCHEMAS[name].names) if table is not None else _empty(backend, name)
        for name, table in found.items()
    }
    missing = tuple(name for name, table in found.items() if table is None)
    return Tables(backend, **tables, missing=missing)


_spark: dict[str, object] = {}
_spark_lock = Lock()


def spark_session():
    """The process's Spark session on SIYU_SPARK_MASTER (starting one costs seconds, so it is
    kept; a changed master stops it and starts another, as Spark runs one per process)."""
    from pyspark.sql import SparkSession

    master = get_settings().spark_master
    with _spark_lock:
        session = _spark.get("session")
        if session is not None and session.sparkContext.master == master:
            return session
        if session is not None:
            session.stop()
        # Python workers run Siyu's own interpreter, which has its packages, not whatever
        # `python3` is first on the PATH; a cluster's workers run the operator's PYSPARK_PYTHON
        # when one is set, since this interpreter's path need not exist on them.
        if master.startswith("local"):
            os.environ["PYSPARK_PYTHON"] = sys.executable
        else:
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = (
            SparkSession.builder.master(master)
            .appName("siyu-analytics")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.warehouse.dir", tempfile.mkdtemp(prefix="siyu-spark-"))
        )
        if master.startswith("local"):  # a cluster's executors must reach the driver
            builder = builder.config("spark.driver.bindAddress", "127.0.0.1")
        _spark["session"] = builder.getOrCreate()
        return _spark["session"]


def _duckdb_table(backend: BaseBackend, name: str) -> ir.Table | None:
    try:
        return backend.table(name)
    except TableNotFound:
        return None


def _spark_table(backend: BaseBackend, lake: Lake, name: str) -> ir.Table | None:
    if name != EVENTS:
        newest = lake.snapshot(name)
        return backend.read_parquet(newest, table_name=f"lake_{name}") if newest else None
    if not lake.files(name, "date=*/*.parquet"):
        return None
    return backend.read_parquet(lake.url(lake.path(name)), table_name=f"lake_{name}")


def _empty(backend: BaseBackend, name: str) -> ir.Table:
    """An empty table of the right shape; named, on DuckDB, so compiled SQL stays the same."""
    if backend.name == "duckdb":
        schema = ibis.schema(SCHEMAS[name])
        return backend.create_table(f"empty_{name}", schema=schema, temp=True, overwrite=True)
    return ibis.memtable(SCHEMAS[name].empty_table())
