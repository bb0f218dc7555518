"""The lake's tables as Ibis tables on DuckDB; a table the lake does not have yet is empty."""

from __future__ import annotations

from collections.abc import Callable

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
import pyarrow as pa
from ibis.backends import BaseBackend
from ibis.common.exceptions import TableNotFound

from siyu.core.lake import Lake, duckdb_connection, open_lake
from siyu.events.lake_schema import EVENTS_SCHEMA

TS = pa.timestamp("us", tz="UTC")

# Only the columns segments read: an absent table is an empty one of this shape.
EMPTY_SCHEMAS = {
    "events": EVENTS_SCHEMA,
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
    "orders": pa.schema(
        [
            ("customer_id", pa.int64()),
            ("status", pa.string()),
            ("amount_fen", pa.int64()),
            ("refunded_fen", pa.int64()),
            ("paid_at", TS),
        ]
    ),
    "customer_tags": pa.schema([("customer_id", pa.int64()), ("tag", pa.string())]),
}


class LakeTables:
    """The tables a segment reads: events, customers, customer_map, identities, orders and
    customer_tags. Any Ibis backend's tables will do (PySpark builds its own): give them by name,
    or give `load`, which opens a table the first time a rule reads it (looking a table's schema
    up costs about 20 ms, and most rules read three or four of the six)."""

    def __init__(self, load: Callable[[str], ir.Table] | None = None, **tables: ir.Table):
        unknown = set(tables) - set(EMPTY_SCHEMAS)
        if unknown or (load is None and set(tables) != set(EMPTY_SCHEMAS)):
            raise TypeError(f"LakeTables takes the tables {', '.join(EMPTY_SCHEMAS)}")
        self._load, self._tables = load, tables

    def __getattr__(self, name: str) -> ir.Table:
        if name.startswith("_") or name not in EMPTY_SCHEMAS:
            raise AttributeError(name)
        if name not in self._tables and self._load is not None:
            self._tables[name] = self._load(name)
        return self._tables[name]


def open_tables(lake: Lake | None = None) -> LakeTables:
    """DuckDB in-process over the lake's Parquet files (the views of `core.lake`)."""
    lake = lake or open_lake()
    sources: dict[str, str] = {}
    con = ibis.duckdb.from_connection(duckdb_connection(lake, sources))
    return LakeTables(lambda name: _table(con, lake, name, sources.get(name)))


def _table(con: BaseBackend, lake: Lake, name: str, source: str | None) -> ir.Table:
    if source is not None:  # a view whose schema is known while it reads the same source
        schema = _schemas.pop(source, None) or con.get_schema(name)
        _schemas[source] = schema  # the newest last; the oldest go past SCHEMAS_KEPT
        while len(_schemas) > SCHEMAS_KEPT:
            del _schemas[next(iter(_schemas))]
        table = ops.DatabaseTable(name, schema=schema, source=con, namespace=ops.Namespace())
        return table.to_expr()
    # Asking for the table, not list_tables(): that one fails with ibis 12 on duckdb 2.
    try:
        return con.table(name)
    except TableNotFound:
        pass
    newest = lake.snapshot(name)
    if newest:  # a snapshot core.lake has no view for yet (customer_tags)
        return con.read_parquet(newest, table_name=name)
    return ibis.memtable(EMPTY_SCHEMAS[name].empty_table())


# Each view's schema by what it reads (core.lake.duckdb_connection's sources): asking DuckDB
# costs a few ms a table, on every count.
_schemas: dict[str, ibis.Schema] = {}
SCHEMAS_KEPT = 64
