"""Preview a segment (count and a sample) and list its members, read from the lake."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from typing import Any

import ibis
import ibis.expr.types as ir
from pydantic import BaseModel

from siyu.core.errors import InvalidInput, SiyuError
from siyu.core.lake import Lake
from siyu.core.lake_tables import Tables, open_tables
from siyu.core.limits import FIRST_DAY, LAST_DAY
from siyu.core.settings import get_settings
from siyu.segments.compile import members_expr, with_user_ids
from siyu.segments.lifecycle import LifecycleThresholds
from siyu.segments.rules import Resolve, parse_rule

SAMPLE_SIZE = 20
INTERRUPT_EVERY = 0.05  # seconds: an interrupt sent between two statements is lost, so repeat it


class PreviewTimeout(SiyuError):
    status = 422
    code = "preview_timeout"


class Member(BaseModel):
    customer_id: int
    user_id: str | None = None

    @property
    def label(self) -> str:
        """How a member is listed: the user_id, else the canonical customer id."""
        return self.user_id or str(self.customer_id)


class Preview(BaseModel):
    count: int
    sample: list[Member]


def preview(
    rule: Any,
    *,
    as_of: datetime | None = None,
    resolve: Resolve | None = None,
    key: str | None = None,
    lake: Lake | None = None,
    thresholds: LifecycleThresholds | None = None,
) -> Preview:
    """How many customers the rule holds for, and the first SAMPLE_SIZE of them by id; stopped
    with PreviewTimeout after SIYU_SEGMENT_PREVIEW_TIMEOUT_SECONDS."""
    expr = _members(rule, as_of, resolve, key, lake, thresholds)
    with time_limit(expr, get_settings().segment_preview_timeout_seconds):
        count = int(expr.count().to_pyarrow().as_py())
        rows = expr.limit(SAMPLE_SIZE).to_pyarrow().to_pylist() if count else []
    return Preview(count=count, sample=[Member(**row) for row in rows])


@contextmanager
def time_limit(expr: ir.Expr, seconds: float) -> Iterator[None]:
    """Run the block's queries for at most `seconds`: past that, DuckDB is interrupted and the
    block raises PreviewTimeout (a read-only user must not be able to hold the CPUs)."""
    backend = ibis.get_backend(expr)
    interrupt = backend.con.interrupt if backend.name == "duckdb" else lambda: None
    finished, expired = threading.Event(), threading.Event()

    def watch() -> None:
        if finished.wait(seconds):
            return
        expired.set()
        while True:
            interrupt()
            if finished.wait(INTERRUPT_EVERY):
                return

    watcher = threading.Thread(target=watch, name="siyu-preview-deadline", daemon=True)
    watcher.start()
    try:
        yield
    except Exception:
        if not expired.is_set():
            raise
    finally:
        finished.set()
    if expired.is_set():
        raise PreviewTimeout(
            f"the preview took longer than {seconds:g} seconds "
            "(SIYU_SEGMENT_PREVIEW_TIMEOUT_SECONDS); narrow the rule",
            field="rule",
        )


def recorded_events(names: list[str], lake: Lake | None = None) -> set[str]:
    """Which of these event names the lake holds at least one event of (so a name that is
    neither known nor recorded can be told apart from one nobody has done lately)."""
    if not names:
        return set()
    events = open_tables(lake, "duckdb").events
    found = events.filter(events.event.isin(names)).select("event").distinct()
    with time_limit(found, get_settings().segment_preview_timeout_seconds):
        return set(found.to_pyarrow().column("event").to_pylist())


def members(
    rule: Any,
    *,
    as_of: datetime | None = None,
    resolve: Resolve | None = None,
    key: str | None = None,
    lake: Lake | None = None,
    thresholds: LifecycleThresholds | None = None,
) -> Iterator[Member]:
    """Every member, by canonical customer id."""
    # to_pyarrow_batches() would stream, but it fails with ibis 12 on duckdb 2.
    table = _members(rule, as_of, resolve, key, lake, thresholds).to_pyarrow()
    for batch in table.to_batches():
        for row in batch.to_pylist():
            yield Member(**row)


def parse_as_of(text: str | None) -> datetime:
    """Now, or the given moment: a date is the start of that day in SIYU_TIMEZONE, and a time
    without a zone is read in it. Kept to the whole second."""
    if not text:
        return datetime.now(UTC).replace(microsecond=0)
    zone = get_settings().zone
    try:
        if len(text.strip()) == 10:
            moment = datetime.combine(date.fromisoformat(text.strip()), time(), zone)
        else:
            moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            "as_of must be a date (2026-11-22) or a time (2026-11-22T10:00)", field="as_of"
        ) from None
    if not FIRST_DAY <= moment.date() <= LAST_DAY:
        raise InvalidInput(f"as_of must fall between {FIRST_DAY} and {LAST_DAY}", field="as_of")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC).replace(microsecond=0)


def member_ids(
    rule: Any,
    *,
    as_of: datetime | None = None,
    resolve: Resolve | None = None,
    key: str | None = None,
    lake: Lake | None = None,
    thresholds: LifecycleThresholds | None = None,
) -> set[int]:
    """The canonical customer ids the rule holds for (no user_id lookup: for materialising)."""
    expr = _ids(rule, as_of, resolve, key, lake, thresholds)[0]
    return set(expr.to_pyarrow().column("customer_id").to_pylist())


def count(
    rule: Any,
    *,
    as_of: datetime | None = None,
    resolve: Resolve | None = None,
    lake: Lake | None = None,
    thresholds: LifecycleThresholds | None = None,
) -> int:
    """How many customers the rule holds for (what the benchmark times)."""
    counted = _ids(rule, as_of, resolve, None, lake, thresholds)[0].count()
    backend = ibis.get_backend(counted)
    if backend.name == "duckdb":  # the SQL straight to the connection: no Arrow round trip
        return int(backend.con.execute(backend.compile(counted)).fetchall()[0][0])
    return int(counted.to_pyarrow().as_py())


def _ids(
    rule: Any,
    as_of: datetime | None,
    resolve: Resolve | None,
    key: str | None,
    lake: Lake | None,
    thresholds: LifecycleThresholds | None,
) -> tuple[ir.Table, Tables]:
    parsed = parse_rule(rule, resolve, key)
    moment = (as_of or parse_as_of(None)).astimezone(UTC).replace(microsecond=0)
    tables = open_tables(lake, "duckdb")  # in-process: a preview can be interrupted
    limits = thresholds or LifecycleThresholds()
    return members_expr(parsed, tables, moment, limits, get_settings().zone), tables


def _members(
    rule: Any,
    as_of: datetime | None,
    resolve: Resolve | None,
    key: str | None,
    lake: Lake | None,
    thresholds: LifecycleThresholds | None = None,
) -> ir.Table:
    expr, tables = _ids(rule, as_of, resolve, key, lake, thresholds)
    return with_user_ids(expr, tables)
