"""Imports: read a file, check every row, then ingest the good rows in transactions of ~1000.

Nothing is written while any row is bad, unless the caller asks to skip bad rows. Every message
has a deterministic messageId, so running an import again (after a crash, or by mistake) stores
nothing twice: what was written is acknowledged as duplicates and the rest is written.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import event
from sqlalchemy.orm import Session

from siyu.core.db import session_factory, unit_of_work, utcnow
from siyu.core.errors import InvalidInput
from siyu.core.settings import get_settings
from siyu.customers.models import Customer
from siyu.events.schemas import Rejected
from siyu.events.service import SourceRef, ingest
from siyu.events.sources import internal_source
from siyu.imports.customer_rows import CustomerRows
from siyu.imports.event_lines import LINE, EventLines
from siyu.imports.mapping import (
    CUSTOMER_FIELDS,
    CUSTOMER_ID_TYPES,
    ORDER_FIELDS,
    Kind,
    Mapping,
    bind,
    is_skipped,
)
from siyu.imports.order_rows import OrderRows
from siyu.imports.plans import Planned, Planner, Problem
from siyu.imports.readers import SourceRow, open_lines, open_table
from siyu.imports.rejected import RejectedFile

SOURCE = "import"
ROWS_PER_TRANSACTION = 1000
SHOWN_PROBLEMS = 20

# Told (stage, rows done, rows in all or None while unknown) as the import goes.
Progress = Callable[[str, int, int | None], None]
# Asked after the check pass, with the summary so far: False stops there, before anything is
# written (the console's "check" step runs the first pass alone this way).
Proceed = Callable[["ImportSummary"], bool]


@dataclass
class ImportRequest:
    kind: Kind
    path: Path
    mapping: Mapping = field(default_factory=Mapping)
    skip_bad: bool = False
    sheet: str | None = None
    customer_id_type: str | None = None  # orders: overrides the mapping's
    proceed: Proceed | None = None


@dataclass
class ImportSummary:
    kind: str
    file: str
    rows: int = 0  # rows read (blank rows and the rows the mapping skips are not counted)
    skipped: int = 0  # rows the mapping passes over (e.g. unpaid orders)
    imported: int = 0  # good rows handed to ingest
    stored: int = 0  # events stored now
    duplicates: int = 0  # events stored by an earlier run
    rejected: int = 0
    customers_created: int = 0
    seconds: float = 0.0
    stopped: bool = False  # bad rows stopped the import before anything was written
    rejected_file: str | None = None
    problems: list[str] = field(default_factory=list)  # the first few, as a person reads them

    def to_dict(self) -> dict:
        rate = round(self.rows / self.seconds) if self.seconds else None
        return {**asdict(self), "seconds": round(self.seconds, 3), "rows_per_second": rate}


def run_import(request: ImportRequest, progress: Progress | None = None) -> ImportSummary:
    """Check every row, then (if none is bad, or bad ones are skipped) write the good ones."""
    if not request.path.is_file():
        raise InvalidInput(f"no file {request.path}", field="file")
    if request.mapping.kind not in (None, request.kind):
        raise InvalidInput(
            f"this mapping is for {request.mapping.kind}, not {request.kind}", field="mapping"
        )
    if request.customer_id_type not in (None, *CUSTOMER_ID_TYPES):
        raise InvalidInput(
            f"the customer id type is one of {', '.join(CUSTOMER_ID_TYPES)}",
            field="customer_id_type",
        )
    progress = progress or (lambda *_: None)
    started, received_at = time.monotonic(), utcnow()
    summary = ImportSummary(request.kind, str(request.path))
    with RejectedFile(request.path, as_lines=request.kind == "events") as rejected:
        bad_rows = _check(request, received_at, summary, rejected, progress)
        summary.stopped = bool(bad_rows) and not request.skip_bad
        if not summary.stopped and (request.proceed is None or request.proceed(summary)):
            _write(request, received_at, summary, rejected, bad_rows, progress)
    summary.rejected_file = str(rejected.path) if rejected.count else None
    summary.seconds = time.monotonic() - started
    return summary


def _check(
    request: ImportRequest,
    now: datetime,
    summary: ImportSummary,
    rejected: RejectedFile,
    progress: Progress,
) -> set[int]:
    """The first pass: plan every row as the import would, write nothing, note the bad ones."""
    bad: set[int] = set()
    skipped = [0]
    with _open(request, now, rejected, skipped) as (planner, rows):
        for chunk in _chunks(rows):
            with session_factory()() as session:
                plans = planner.plan(session, chunk)
            for problem in (p for p in plans if isinstance(p, Problem)):
                bad.add(problem.row.number)
                _reject(summary, rejected, problem)
            summary.rows += len(chunk)
            progress("checking", summary.rows, None)
    summary.skipped = skipped[0]
    return bad


def _write(
    request: ImportRequest,
    now: datetime,
    summary: ImportSummary,
    rejected: RejectedFile,
    bad_rows: set[int],
    progress: Progress,
) -> None:
    """The second pass: plan again (the same rows give the same messages) and ingest."""
    with unit_of_work() as session:
        source = internal_source(session, SOURCE)
    done = 0
    with _open(request, now, rejected, [0]) as (planner, rows):
        for chunk in _chunks(rows):
            with unit_of_work() as session:
                plans = planner.plan(session, chunk)
                for problem in (p for p in plans if isinstance(p, Problem)):
                    if problem.row.number not in bad_rows:  # the database changed in between
                        _reject(summary, rejected, problem)
                good = [p for p in plans if isinstance(p, Planned)]
                _ingest(session, source, good, now, summary, rejected)
            done += len(chunk)
            progress("importing", done, summary.rows)


def _ingest(
    session: Session,
    source: SourceRef,
    good: list[Planned],
    received_at: datetime,
    summary: ImportSummary,
    rejected: RejectedFile,
) -> None:
    messages = [message for plan in good for message in plan.messages]
    owners = [plan for plan in good for _ in plan.messages]
    with _counting_new_customers(session) as created:
        result = ingest(session, source, messages, received_at)
    # The checks above are ingest's own, so this stays empty; if it ever does not, say so.
    refused: dict[int, tuple[SourceRow, Rejected]] = {}
    for item in result.rejected:
        refused.setdefault(owners[item.index].row.number, (owners[item.index].row, item))
    for row, item in refused.values():
        _reject(summary, rejected, Problem(row, item.field, f"refused by ingest: {item.reason}"))
    summary.imported += len(good) - len(refused)
    summary.stored += result.accepted
    summary.duplicates += result.duplicates
    summary.customers_created += created[0]


@contextmanager
def _counting_new_customers(session: Session) -> Iterator[list[int]]:
    created = [0]

    def count(_session: Session, instance: object) -> None:
        if isinstance(instance, Customer):
            created[0] += 1

    event.listen(session, "pending_to_persistent", count)
    try:
        yield created
    finally:
        event.remove(session, "pending_to_persistent", count)


def _reject(summary: ImportSummary, rejected: RejectedFile, problem: Problem) -> None:
    summary.rejected += 1
    if len(summary.problems) < SHOWN_PROBLEMS:
        summary.problems.append(str(problem))
    rejected.add(problem)


@contextmanager
def _open(
    request: ImportRequest, now: datetime, rejected: RejectedFile, skipped: list[int]
) -> Iterator[tuple[Planner, Iterator[SourceRow]]]:
    """The file's rows and the planner for its kind, fresh for each pass."""
    if request.kind == "events":
        rejected.header = [LINE]
        lines = open_lines(request.path)
        yield EventLines(), (SourceRow(number, {LINE: line}) for number, line in lines)
        return
    mapping = request.mapping
    sheet = request.sheet or mapping.sheet
    with open_table(request.path, sheet, mapping.header_row, mapping.encoding) as table:
        rejected.header = table.header
        planner = _planner(request, table.header, now)
        yield planner, _kept(table.rows, mapping, skipped)


def _planner(request: ImportRequest, header: list[str], now: datetime) -> Planner:
    mapping, name = request.mapping, request.path.name
    zone = ZoneInfo(mapping.timezone) if mapping.timezone else get_settings().zone
    if request.kind == "orders":
        columns = bind(header, mapping, ORDER_FIELDS, name)
        id_type = request.customer_id_type or mapping.customer_id_type
        return OrderRows(columns, zone, mapping.time_format, id_type, now)
    columns = bind(header, mapping, CUSTOMER_FIELDS, name)
    return CustomerRows(columns, zone, mapping.time_format, now)


def _kept(rows: Iterator[SourceRow], mapping: Mapping, skipped: list[int]) -> Iterator[SourceRow]:
    for row in rows:
        if is_skipped(row.cells, mapping):
            skipped[0] += 1
        else:
            yield row


def _chunks(rows: Iterator[SourceRow]) -> Iterator[list[SourceRow]]:
    while chunk := list(islice(rows, ROWS_PER_TRANSACTION)):
        yield chunk
