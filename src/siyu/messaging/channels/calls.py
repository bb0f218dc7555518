"""Outbound calls (外呼): the `call` channel hands its messages to a call centre as a call list
(CallList), exported as CSV or XLSX; the centre's outcomes come back as a file of the same rows.

The call list is the call centre's in-tray, so the sender's hand-over is putting a delivery on
one: one open list per origin (a broadcast, a journey step; unique while open), found or made
in its own transaction, its deliveries `pending` with provider id `call-list:<id>` until an
outcome is imported.
Outcomes: reached → delivered; no_answer, refused → failed with that reason; do_not_call →
failed, and the number is unsubscribed from calls and suppressed (reason do_not_call).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import openpyxl
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.core import csvsafe
from siyu.core.db import unit_of_work, utcnow
from siyu.core.errors import InvalidInput, NotFound
from siyu.core.settings import Settings, get_settings
from siyu.customers.models import Customer
from siyu.messaging import dispatch, service
from siyu.messaging.models import CallList, Channel, Delivery, MessageContent
from siyu.messaging.sending import Outcome, Outgoing
from siyu.profiles.service import mask_phone
from siyu.staff.models import Staff

OUTCOMES = ("reached", "no_answer", "refused", "do_not_call")
# What a call centre may write for each outcome (their sheets are often in Chinese).
OUTCOME_WORDS = {
    "reached": "reached",
    "接通": "reached",
    "已接通": "reached",
    "no_answer": "no_answer",
    "no answer": "no_answer",
    "未接通": "no_answer",
    "无人接听": "no_answer",
    "refused": "refused",
    "拒绝": "refused",
    "do_not_call": "do_not_call",
    "do not call": "do_not_call",
    "勿扰": "do_not_call",
    "免打扰": "do_not_call",
}
COLUMNS = ("delivery_id", "customer_id", "name", "phone", "guide", "script", "outcome", "note")
MAX_ROWS = 200_000
Format = Literal["csv", "xlsx"]


def list_tag(list_id: int) -> str:
    """The provider id of a delivery on this call list."""
    return f"call-list:{list_id}"


class CallSender:
    """The `call` channel's sender: puts each delivery on its origin's call list."""

    channel = "call"

    def __init__(self, settings: Settings | None = None, row: Channel | None = None):
        self.settings = settings

    def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        if not batch:
            return []
        with unit_of_work() as session:
            origins = _origins(session, [item.delivery_id for item in batch])
            lists = {origin: _call_list(session, *origin) for origin in set(origins.values())}
            tags = {origin: list_tag(call_list.id) for origin, call_list in lists.items()}
        return [
            Outcome(item.delivery_id, "pending", provider_id=tags[origins[item.delivery_id]])
            for item in batch
        ]

    def reconcile(self, batch: Sequence[Outgoing]) -> list[Outcome | None]:
        # Putting a delivery on a list twice is still one row on it (the export reads the
        # deliveries), so a crash's hand-over is simply done again.
        return list(self.send(batch))


def _origins(session: Session, delivery_ids: list[int]) -> dict[int, tuple[str, int | None]]:
    rows = session.execute(
        select(Delivery.id, Delivery.origin, Delivery.origin_id).where(
            Delivery.id.in_(delivery_ids)
        )
    )
    return {id_: (origin, origin_id) for id_, origin, origin_id in rows}


def _call_list(session: Session, origin: str, origin_id: int | None) -> CallList:
    """The origin's open list, made when there is none; a racing dispatcher's is taken."""
    key = f"{origin}:{'' if origin_id is None else origin_id}"
    found = session.scalar(select(CallList).where(CallList.open_key == key))
    if found is not None:
        return found
    name = f"{origin} {origin_id}" if origin_id is not None else origin
    row = CallList(
        name=name, origin=origin, origin_id=origin_id, created_by="system", rows=0, open_key=key
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another dispatcher opened it between the read and the insert
        return session.scalars(select(CallList).where(CallList.open_key == key)).one()
    return row


def call_lists(session: Session) -> list[dict[str, Any]]:
    """The newest call lists with how many calls each holds and what came of them."""
    rows = []
    for call_list in session.scalars(select(CallList).order_by(CallList.id.desc()).limit(500)):
        call_list.rows = len(_deliveries_on(session, call_list.id))
        rows.append(
            {
                "id": call_list.id,
                "name": call_list.name,
                "rows": call_list.rows,
                "outcomes": call_list.outcomes or {},
                "created_at": call_list.created_at.isoformat(),
                "imported_at": call_list.imported_at.isoformat() if call_list.imported_at else None,
            }
        )
    return rows


def _get_list(session: Session, list_id: int) -> CallList:
    row = session.get(CallList, list_id)
    if row is None:
        raise NotFound(f"no call list {list_id}", field="list_id")
    return row


def export_rows(session: Session, list_id: int, *, full_phones: bool) -> list[list[Any]]:
    """The call list's rows (COLUMNS), masked phones unless `full_phones`: the caller decides
    (a call centre dialling the numbers needs them in full)."""
    _get_list(session, list_id)
    query = (
        select(Delivery, Customer.traits, Staff.name, MessageContent.text)
        .join(Customer, Customer.id == Delivery.customer_id)
        .outerjoin(Staff, Staff.id == Delivery.guide_id)
        .outerjoin(MessageContent, MessageContent.id == Delivery.content_id)
        .where(Delivery.channel == "call", Delivery.provider_id == list_tag(list_id))
        .order_by(Delivery.id)
    )
    rows = []
    for delivery, traits, guide, template in session.execute(query):
        phone = delivery.address or ""
        script = (delivery.content or {}).get("text") or template or ""
        name = (traits or {}).get("name") or ""
        rows.append(
            [
                delivery.id,
                delivery.customer_id,
                str(name),
                phone if full_phones else mask_phone(phone),
                guide or "",
                str(script),
                "",
                "",
            ]
        )
    return rows


def export_call_list(
    session: Session, list_id: int, fmt: Format = "csv", *, full_phones: bool = False
) -> bytes:
    """The call list as a file for the call centre: its rows with a blank outcome column."""
    rows = export_rows(session, list_id, full_phones=full_phones)
    if fmt == "csv":
        handle = io.StringIO()
        writer = csvsafe.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
        return ("\ufeff" + handle.getvalue()).encode()  # the BOM: Excel reads it as UTF-8
    if fmt == "xlsx":
        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet("calls")
        sheet.append(list(COLUMNS))
        for row in rows:  # openpyxl writes a text starting with '=' as a formula
            sheet.append([csvsafe.safe_cell(cell) for cell in row])
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()
    raise InvalidInput("the format is csv or xlsx", field="format")


@dataclass
class ImportReport:
    """What an import of outcomes did, or, with `errors`, why it wrote nothing."""

    list_id: int
    applied: Counter[str] = field(default_factory=Counter)
    blank: int = 0  # rows without an outcome yet (not called)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, problem)

    def as_dict(self) -> dict[str, Any]:
        return {
            "list_id": self.list_id,
            "applied": dict(self.applied),
            "blank": self.blank,
            "errors": [{"line": line, "error": problem} for line, problem in self.errors],
        }


def import_outcomes(session: Session, list_id: int, data: bytes, *, actor: str) -> ImportReport:
    """Apply a call centre's outcomes (a CSV or XLSX with `delivery_id` and `outcome` columns).
    Every row is checked first: one unknown delivery or outcome reports its line and nothing is
    written. The caller commits."""
    call_list = _get_list(session, list_id)
    report = ImportReport(list_id)
    table = _read_table(data)
    on_list = _deliveries_on(session, list_id)
    planned: list[tuple[Delivery, str]] = []
    for line, row in table:
        checked = _checked(row, line, on_list, report)
        if checked:
            planned.append(checked)
    if report.errors:
        return report
    for delivery, outcome in planned:
        _apply(session, delivery, outcome, call_list, actor)
        report.applied[outcome] += 1
    session.flush()
    call_list.outcomes = _tally(session, list_id)
    call_list.rows = len(on_list)
    call_list.imported_at, call_list.open_key = utcnow(), None
    return report


def _checked(
    row: dict[str, str], line: int, on_list: dict[int, Delivery], report: ImportReport
) -> tuple[Delivery, str] | None:
    ref, word = row.get("delivery_id", "").strip(), row.get("outcome", "").strip()
    if not ref and not word:
        return None
    if not ref.isdigit() or int(ref) not in on_list:
        report.errors.append((line, f"delivery {ref!r} is not on this call list"))
        return None
    if not word:
        report.blank += 1
        return None
    outcome = OUTCOME_WORDS.get(word.casefold())
    if outcome is None:
        report.errors.append((line, f"unknown outcome {word!r} (one of {', '.join(OUTCOMES)})"))
        return None
    return on_list[int(ref)], outcome


def _apply(
    session: Session, delivery: Delivery, outcome: str, call_list: CallList, actor: str
) -> None:
    source = f"call list {call_list.id}"
    if outcome == "reached":
        dispatch.record_outcomes(session, [Outcome(delivery.id, "delivered")])
        return
    error = f"{outcome}: {source}"
    dispatch.record_outcomes(session, [Outcome(delivery.id, "failed", error=error)])
    if outcome == "do_not_call" and delivery.address:
        service.unsubscribe_address(
            session, "call", delivery.address, method="call_outcome", source=source, actor=actor
        )


def _deliveries_on(session: Session, list_id: int) -> dict[int, Delivery]:
    query = select(Delivery).where(
        Delivery.channel == "call", Delivery.provider_id == list_tag(list_id)
    )
    return {d.id: d for d in session.scalars(query)}


def _tally(session: Session, list_id: int) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for delivery in _deliveries_on(session, list_id).values():
        if delivery.status == "delivered":
            counts["reached"] += 1
        elif delivery.status == "failed" and delivery.reason in OUTCOMES:
            counts[delivery.reason] += 1
        else:
            counts[delivery.status] += 1
    return dict(counts)


def _read_table(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """(line, row by lower-cased header) of a CSV or XLSX file; the first row names columns."""
    limit = get_settings().import_max_bytes
    if len(data) > limit:
        raise InvalidInput(f"the file is larger than {limit} bytes", field="file")
    lines = _xlsx_lines(data) if data[:4] == b"PK\x03\x04" else _csv_lines(data)
    try:
        header = [str(cell or "").strip().lower() for cell in next(lines)]
    except StopIteration:
        raise InvalidInput("the file is empty", field="file") from None
    if "delivery_id" not in header or "outcome" not in header:
        raise InvalidInput("the file needs delivery_id and outcome columns", field="file")
    table = []
    for number, cells in enumerate(lines, start=2):
        if number > MAX_ROWS + 1:
            raise InvalidInput(f"at most {MAX_ROWS} rows", field="file")
        values = [csvsafe.restored(str(cell)) if cell is not None else "" for cell in cells]
        table.append((number, dict(zip(header, values, strict=False))))
    return table


def _csv_lines(data: bytes) -> Any:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(
            "the file is not UTF-8 text, CSV, or an XLSX workbook", field="file"
        ) from None
    return iter(csv.reader(io.StringIO(text)))


def _xlsx_lines(data: bytes) -> Any:
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        return iter(list(book.worksheets[0].iter_rows(values_only=True)))
    except Exception:  # a damaged workbook: openpyxl and zipfile raise many kinds
        raise InvalidInput("the file is not a readable XLSX workbook", field="file") from None
