"""The lake's tables as Ibis tables on one engine (DuckDB in-process, or Spark): what the report
runner, the segment compiler and the pages read, all through `open_tables`.

Each table has the columns core/lake_schema.py declares, whatever its files hold: a column an
older file lacks reads as null, a column it holds beyond them is not seen, and a table the lake has
no file of yet is an empty one of its declared shape.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from datetime import date, timedelta
from threading import Lock, RLock
from typing import Any, overload

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from siyu.core.lake import Lake, duckdb_connection, open_lake
from siyu.core.lake_schema import EVENTS, PARTITION, TABLES
from siyu.core.settings import get_settings


class _Table:
    """One of the lake's tables on a `Tables`, opened the first time it is read: looking a
    table's schema up costs milliseconds, and a segment rule reads three or four of the eight."""

    def __set_name__(self, owner: type[object], name: str) -> None:
        self.name = name

    @overload
    def __get__(self, tables: None, owner: type[object]) -> _Table: ...

    @overload
    def __get__(self, tables: Tables, owner: type[object]) -> ir.Table: ...

    def __get__(self, tables: Tables | None, owner: type[object]) -> ir.Table | _Table:
        return self if tables is None else tables.table(self.name)


class Tables:
    """The lake's tables on one backend, as declared (core/lake_schema.TABLES)."""

    events = _Table()
    customers = _Table()
    customer_map = _Table()
    identities = _Table()
    customer_tags = _Table()
    orders = _Table()
    touchpoints = _Table()
    touchpoint_costs = _Table()

    def __init__(
        self,
        backend: BaseBackend,
        load: Callable[[str], ir.Table],
        missing: tuple[str, ...] = (),
    ):
        self.backend = backend
        self.missing = missing  # tables the lake has no file of yet (read as empty ones)
        self._load = load
        self._opened: dict[str, ir.Table] = {}
        self._filled: dict[str, list[str]] = {}  # declared columns a table's files lack
        self._lock = RLock()

    @property
    def engine(self) -> str:
        return str(self.backend.name)

    def table(self, name: str) -> ir.Table:
        """The table `name`, with its declared columns."""
        with self._lock:
            if name not in self._opened:
                if name in self.missing:
                    self._opened[name] = _empty(self.backend, name)
                else:
                    table, self._filled[name] = _declared(self._load(name), name)
                    self._opened[name] = table
            return self._opened[name]

    def shape(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """What an expression compiled over these tables depends on beside its query: the tables
        the lake lacks, and the declared columns its files lack (`table.column`, read as null).
        Opens every table."""
        for name in TABLES:
            self.table(name)
        filled = (f"{name}.{column}" for name, found in self._filled.items() for column in found)
        return self.missing, tuple(sorted(filled))


def open_tables(lake: Lake | None = None, engine: str | None = None) -> Tables:
    """The lake on `engine` (default SIYU_ENGINE)."""
    lake = lake or open_lake()
    engine = engine or get_settings().engine
    sources: dict[str, str] = {}
    if engine == "pyspark":
        backend = ibis.pyspark.connect(spark_session())
        sources = {name: path for name in TABLES if (path := _spark_source(lake, name))}
        return Tables(
            backend, lambda name: _spark_table(backend, name, sources[name]), _absent(sources)
        )
    # core.lake's views (any fsspec location); ibis keeps the session in UTC, and local days
    # come from the reports' zones, never from the session's zone.
    backend = ibis.duckdb.from_connection(duckdb_connection(lake, sources))
    return Tables(
        backend, lambda name: _duckdb_table(backend, name, sources[name]), _absent(sources)
    )


def during(events: ir.Table, first: date, last: date) -> list[ir.BooleanValue]:
    """Conditions that keep only the day partitions that can hold events of the brand's days
    `first` to `last`, so an engine reads the period's files and not the whole lake. A day either
    side: a partition is the day in the zone the lake was written in."""
    day = events[PARTITION]
    return [day >= first - timedelta(days=1), day <= last + timedelta(days=1)]


def _absent(sources: dict[str, str]) -> tuple[str, ...]:
    return tuple(name for name in TABLES if name not in sources)


def _declared(table: ir.Table, name: str) -> tuple[ir.Table, list[str]]:
    """`table` with exactly its declared columns, in their order (as it is when it has them),
    and the declared columns it lacks (read as null)."""
    schema = _schema(name)
    if list(table.columns) == list(schema.names):
        return table, []
    held = set(table.columns)
    lacking = [column for column in schema.names if column not in held]
    kept = table.select(
        *(
            table[column] if column in held else ibis.null(schema[column]).name(column)
            for column in schema.names
        )
    )
    return kept, lacking


_schemas: dict[str, ibis.Schema] = {}


def _schema(name: str) -> ibis.Schema:
    if name not in _schemas:
        _schemas[name] = ibis.schema(TABLES[name])
    return _schemas[name]


def _empty(backend: BaseBackend, name: str) -> ir.Table:
    """An empty table of the declared shape; named, on DuckDB, so compiled SQL stays the same."""
    if backend.name == "duckdb":
        return backend.create_table(
            f"empty_{name}", schema=_schema(name), temp=True, overwrite=True
        )
    return ibis.memtable(TABLES[name].empty_table())


def _duckdb_table(backend: BaseBackend, name: str, source: str) -> ir.Table:
    """A view of core.lake's connection, its schema looked up once per `source` (what the view
    reads: its schema changes only with that; asking DuckDB costs a few ms a table)."""
    with _lock:
        schema = _view_schemas.pop(source, None)
    if schema is None:
        schema = backend.get_schema(name)
    with _lock:
        _view_schemas[source] = schema  # the newest last; the oldest go past SCHEMAS_KEPT
        while len(_view_schemas) > SCHEMAS_KEPT:
            del _view_schemas[next(iter(_view_schemas))]
    table = ops.DatabaseTable(name, schema=schema, source=backend, namespace=ops.Namespace())
    return table.to_expr()


_view_schemas: dict[str, ibis.Schema] = {}
SCHEMAS_KEPT = 64
_lock = Lock()


def _spark_source(lake: Lake, name: str) -> str | None:
    """What Spark reads for a table: the events folder, or a snapshot's newest file."""
    if name != EVENTS:
        return lake.snapshot(name)
    if not lake.files(name, f"{PARTITION}=*/*.parquet"):
        return None
    return lake.url(lake.path(name))


def _spark_table(backend: BaseBackend, name: str, source: str) -> ir.Table:
    return backend.read_parquet(source, table_name=f"lake_{name}")


_spark: dict[str, Any] = {}
_spark_lock = Lock()


def spark_session() -> Any:
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
