"""The lake is described once (core/lake_schema.py): the snapshot writer writes those schemas, and
the report runner, the segment compiler and the pages read the same Ibis tables of them."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime
from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.parquet as pq

from siyu.analytics import gmv, runner
from siyu.core.db import unit_of_work
from siyu.core.lake import open_lake
from siyu.core.lake_schema import EVENTS, EVENTS_SCHEMA, SNAPSHOT_SCHEMAS, TABLES, TS
from siyu.core.lake_tables import open_tables
from siyu.core.periods import Period
from siyu.events.service import ingest
from siyu.events.shipper import ship_all
from siyu.events.sources import internal_source
from siyu.segments import evaluation as segments
from siyu.snapshots import BUILDERS, write_snapshots
from tests.helpers import identify, track

SRC = Path(__file__).resolve().parents[2] / "src" / "siyu"
COMPOSITION = {"app.py", "cli.py", "subscribers.py", "work.py", "snapshots.py"}


def _brand_in_the_lake() -> None:
    bought = {"order_id": "o1", "revenue": 9}
    with unit_of_work() as session:
        source = internal_source(session, "test")
        messages = [identify("u-1", traits={"city": "上海"}), track("Order Completed", "u-1")]
        messages[1]["properties"] = bought
        ingest(session, source, messages, datetime.now(UTC))
    ship_all()
    write_snapshots()


def test_every_declared_snapshot_is_written_in_its_declared_schema():
    _brand_in_the_lake()
    lake = open_lake()

    assert set(BUILDERS) == set(SNAPSHOT_SCHEMAS)
    for name, schema in SNAPSHOT_SCHEMAS.items():
        newest = lake.snapshot(name)
        assert newest is not None, name
        assert pq.read_schema(newest) == schema, name
    (events,) = lake.files(EVENTS, "date=*/*.parquet")
    assert pq.read_schema(events).remove_metadata() == EVENTS_SCHEMA


def test_the_runner_and_the_segment_compiler_read_the_same_declared_tables(monkeypatch):
    _brand_in_the_lake()
    runner.clear_cache()
    opened = {}

    def spying(reader: str, real):
        def open_and_keep(*args, **kwargs):
            opened[reader] = real(*args, **kwargs)
            return opened[reader]

        return open_and_keep

    monkeypatch.setattr(runner, "open_tables", spying("runner", runner.open_tables))
    monkeypatch.setattr(segments, "open_tables", spying("segments", segments.open_tables))
    period = Period(start=date(2026, 11, 1), end=date(2026, 11, 30))
    runner.run(gmv, gmv.Query(period=period), use_cache=False)
    segments.count({"attribute": "city", "op": "eq", "value": "上海"})

    for name, schema in TABLES.items():
        declared = ibis.schema(schema).names
        assert opened["runner"].table(name).schema().names == declared, name
        assert opened["segments"].table(name).schema() == opened["runner"].table(name).schema()


def test_a_column_an_older_file_lacks_reads_as_null_and_one_beyond_is_not_seen():
    lake = open_lake()
    older = pa.table(
        {
            "customer_id": pa.array([1, 2], pa.int64()),
            "merged_into_id": pa.array([None, None], pa.int64()),
            "created_at": pa.array([datetime(2026, 1, 1, tzinfo=UTC)] * 2, TS),
            "retired": pa.array(["x", "y"]),
        }
    )
    lake.write_atomic(older, "customers/snapshot-1.parquet")

    tables = open_tables(lake, "duckdb")
    customers = tables.customers.to_pyarrow()

    assert customers.schema.names == SNAPSHOT_SCHEMAS["customers"].names
    assert customers.column("owner_id").to_pylist() == [None, None]
    assert tables.shape()[1] == tuple(
        sorted(f"customers.{c}" for c in SNAPSHOT_SCHEMAS["customers"].names[3:])
    )
    assert "orders" in tables.shape()[0]
    assert tables.orders.count().to_pyarrow().as_py() == 0


def _siyu_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return {name for name in found if name == "siyu" or name.startswith("siyu.")}


def test_the_snapshot_writer_sits_above_the_domains_and_the_lake_below_them():
    domains = {p.name for p in SRC.iterdir() if (p / "__init__.py").exists()} - {"core"}
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC)
        imported = _siyu_imports(path)
        if str(relative) not in COMPOSITION:
            assert "siyu.snapshots" not in imported, relative  # reached through core.lake
        if relative.parts[0] == "core" and relative.name.startswith("lake"):
            reached = {name.split(".")[1] for name in imported if name.count(".")}
            assert not reached & domains, (relative, reached & domains)
