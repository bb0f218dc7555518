"""The one way a report runs: its Ibis expressions built once, executed with a row limit,
timed, and cached until the lake changes."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock
from typing import Any, Protocol

import duckdb
import ibis
import ibis.expr.types as ir
import pyarrow as pa
from pydantic import BaseModel

from siyu.analytics.tables import Tables, open_tables
from siyu.core.errors import SiyuError
from siyu.core.lake import Lake, open_lake
from siyu.core.settings import get_settings

MAX_ROWS = 200_000  # a report that would return more is refused, not truncated silently
CACHE_SIZE = 64


class TooManyRows(SiyuError):
    status = 422
    code = "too_many_rows"


class Context(BaseModel):
    """What a report's expressions depend on beside its query."""

    zone: str
    engine: str


class Report(Protocol):
    """A report module: KIND, Query, Result, build() and shape()."""

    KIND: str
    Query: type[BaseModel]
    Result: type[BaseModel]

    def build(self, query: Any, tables: Tables, context: Context) -> dict[str, ir.Table]: ...

    def shape(self, frames: dict[str, pa.Table], query: Any, context: Context) -> BaseModel: ...


@dataclass(frozen=True)
class Run:
    result: BaseModel
    seconds: float
    cached: bool
    engine: str


_cache: OrderedDict[tuple, BaseModel] = OrderedDict()
_lock = Lock()


def run(
    report: Report,
    query: BaseModel,
    *,
    tables: Tables | None = None,
    lake: Lake | None = None,
    use_cache: bool = True,
) -> Run:
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
                return Run(_cache[key], time.perf_counter() - started, True, engine)
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
        return {
            name: fetch(expr, name, limit)
            for name, expr in report.build(query, tables, context).items()
        }


def _forget(lake: Lake, engine: str, version: tuple) -> None:
    with _lock:
        _opened_tables.pop((lake.root, engine, version), None)


def fetch(expr: ir.Table, name: str, limit: int = MAX_ROWS) -> pa.Table:
    table = expr.limit(limit + 1).to_pyarrow()
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
