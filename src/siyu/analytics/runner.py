"""The one way a report runs: its Ibis expressions built once, executed with a row limit,
timed, and cached until the lake changes."""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock
from typing import Any, Generic, Protocol, TypeVar, cast

import duckdb
import ibis
import ibis.expr.schema as sch
import ibis.expr.types as ir
import pyarrow as pa
from pydantic import BaseModel

from siyu.core.errors import SiyuError
from siyu.core.lake import Lake, open_lake
from siyu.core.lake_tables import Tables, open_tables
from siyu.core.settings import get_settings

MAX_ROWS = 200_000  # a report that would return more is refused, not truncated silently
CACHE_SIZE = 64
PLAN_CACHE_SIZE = 256


class TooManyRows(SiyuError):
    status = 422
    code = "too_many_rows"


class Context(BaseModel):
    """What a report's expressions depend on beside its query."""

    zone: str
    engine: str


ResultT = TypeVar("ResultT", bound=BaseModel)
ResultT_co = TypeVar("ResultT_co", bound=BaseModel, covariant=True)


class Report(Protocol[ResultT_co]):
    """A report module: KIND, Query, Result, build() and shape() (read-only, as a module's are)."""

    @property
    def KIND(self) -> str: ...  # noqa: N802 - the module's constant

    @property
    def Query(self) -> type[BaseModel]: ...  # noqa: N802 - the module's class

    @property
    def Result(self) -> type[ResultT_co]: ...  # noqa: N802 - the module's class

    def build(self, query: Any, tables: Tables, context: Context) -> dict[str, ir.Table]: ...

    def shape(self, frames: dict[str, pa.Table], query: Any, context: Context) -> ResultT_co: ...


@dataclass(frozen=True)
class Run(Generic[ResultT]):
    result: ResultT
    seconds: float
    cached: bool
    engine: str


_cache: OrderedDict[tuple, BaseModel] = OrderedDict()
_lock = Lock()


def run(
    report: Report[ResultT],
    query: BaseModel,
    *,
    tables: Tables | None = None,
    lake: Lake | None = None,
    use_cache: bool = True,
) -> Run[ResultT]:
    """The report's result for `query`, from the cache while the lake's files are unchanged."""
    started = time.perf_counter()
    lake = lake or open_lake()
    settings = get_settings()
    engine = tables.engine if tables else settings.engine
    context = Context(zone=settings.timezone, engine=engine)
    key = (report.KIND, query.model_dump_json(), context.model_dump_json(), lake_version(lake))
    if use_cache:
        with _lock:
            if key in _cache:
                _cache.move_to_end(key)
                # The key holds the report's KIND: what it finds is that report's Result.
                cached = cast(ResultT, _cache[key])
                return Run(cached, time.perf_counter() - started, True, engine)
    if tables is not None:
        frames = _frames(report, query, context, tables, Lock())
    else:
        try:
            frames = _frames(report, query, context, *_opened(lake, engine, key[-1]))
        except duckdb.Error:
            # A lake file was replaced while it was read (the shipper's snapshots, compaction):
            # read again from what the lake holds now.
            _forget(lake, engine, key[-1])
            key = (*key[:-1], lake_version(lake))
            frames = _frames(report, query, context, *_opened(lake, engine, key[-1]))
    result = report.shape(frames, query, context)
    with _lock:
        _cache[key] = result
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return Run(result, time.perf_counter() - started, False, engine)


_opened_tables: OrderedDict[tuple, tuple[Tables, Lock]] = OrderedDict()


def _opened(lake: Lake, engine: str, version: tuple) -> tuple[Tables, Lock]:
    """The lake's tables, opened once per version of its files (opening lists every file)."""
    key = (lake.root, engine, version)
    with _lock:
        if key not in _opened_tables:
            _opened_tables[key] = (open_tables(lake, engine), Lock())
            while len(_opened_tables) > 2:
                _opened_tables.popitem(last=False)
        return _opened_tables[key]


def _frames(
    report: Report, query: BaseModel, context: Context, tables: Tables, guard: Lock
) -> dict[str, pa.Table]:
    limit = getattr(report, "ROW_LIMIT", MAX_ROWS)
    with guard:  # one query at a time on a shared connection
        if tables.engine == "duckdb":
            plan = _plan(report, query, context, tables, limit)
            return {name: fetch(step.on(tables), name, limit) for name, step in plan.items()}
        return {
            name: fetch(expr, name, limit)
            for name, expr in report.build(query, tables, context).items()
        }


@dataclass(frozen=True)
class Step:
    """One of a report's expressions compiled: its SQL and the schema of its result."""

    sql: str
    schema: sch.Schema

    def on(self, tables: Tables) -> Compiled:
        return Compiled(self, tables.backend)


@dataclass(frozen=True)
class Compiled:
    """A step to run on one DuckDB backend (the lake's tables as they are now)."""

    step: Step
    backend: Any

    def to_pyarrow(self) -> pa.Table:
        from ibis.backends.duckdb.converter import DuckDBPyArrowData

        table = self.backend.con.sql(self.step.sql).to_arrow_table()
        return DuckDBPyArrowData.convert_table(table, self.step.schema)


_plans: OrderedDict[tuple, dict[str, Step]] = OrderedDict()


def _plan(
    report: Report, query: BaseModel, context: Context, tables: Tables, limit: int
) -> dict[str, Step]:
    """The report's SQL for this query. DuckDB reads the lake through views named after its
    tables, so the SQL stays the same while the lake's files change: it is compiled once (Ibis
    takes longer to compile a report than DuckDB to run it) and kept while the settings and the
    shape of the lake's tables (which it lacks, which declared columns its files lack) are the
    same."""
    settings = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("SIYU_")))
    key: tuple[Any, ...] = (report.KIND, query.model_dump_json(), context.model_dump_json())
    key += (tables.shape(), limit, settings)
    with _lock:
        if key in _plans:
            _plans.move_to_end(key)
            return _plans[key]
    backend = tables.backend
    plan = {
        name: Step(backend.compile(expr.as_table(), limit=limit + 1), expr.as_table().schema())
        for name, expr in report.build(query, tables, context).items()
    }
    with _lock:
        _plans[key] = plan
        while len(_plans) > PLAN_CACHE_SIZE:
            _plans.popitem(last=False)
    return plan


def forget_plans() -> None:
    """Drop every compiled report SQL: the next run of each report builds and compiles again
    (`siyu bench reports` measures such a cold run beside the usual warm one)."""
    with _lock:
        _plans.clear()


def _forget(lake: Lake, engine: str, version: tuple) -> None:
    with _lock:
        _opened_tables.pop((lake.root, engine, version), None)


def fetch(expr: ir.Table | Compiled, name: str, limit: int = MAX_ROWS) -> pa.Table:
    """An expression's rows (a compiled one already asks for one past the limit)."""
    table = expr.to_pyarrow() if isinstance(expr, Compiled) else expr.limit(limit + 1).to_pyarrow()
    if table.num_rows > limit:
        raise TooManyRows(f"more than {limit} rows: narrow the period or the filters", field=name)
    return table


def compiled_sql(report: Report, query: BaseModel, tables: Tables, zone: str) -> str:
    """The SQL each of the report's expressions compiles to, for review (tests snapshot it)."""
    context = Context(zone=zone, engine=tables.engine)
    parts = [
        f"-- {name}\n{ibis.to_sql(expr, dialect=tables.engine)}"
        for name, expr in report.build(query, tables, context).items()
    ]
    return "\n\n".join(parts) + "\n"


def lake_version(lake: Lake) -> tuple:
    """Changes whenever a lake file is added, replaced or removed."""
    return lake.inventory()


def clear_cache() -> None:
    with _lock:
        _cache.clear()
        _opened_tables.clear()
        _plans.clear()
