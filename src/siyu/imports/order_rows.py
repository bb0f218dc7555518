"""Order rows to `Order Completed` (and `Order Refunded`) messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from siyu.core.limits import is_whole_number
from siyu.customers import identity as ids
from siyu.events.service import FUTURE_TOLERANCE
from siyu.imports import cells
from siyu.imports.mapping import Columns
from siyu.imports.plans import Planned, Problem, RowProblem, checked, read_cell
from siyu.imports.readers import SourceRow
from siyu.imports.refs import Ref, speakers, unusable


@dataclass
class OrderLine:
    row: SourceRow
    order_id: str
    customer: Ref
    paid_at: datetime
    amount: Decimal
    refunded_at: datetime | None
    refund_amount: Decimal | None
    details: dict  # optional properties: currency, store, touchpoint, products


class OrderRows:
    """Plans order rows; the same order twice in one file is a bad row, not a silent overwrite."""

    def __init__(
        self,
        columns: Columns,
        zone: ZoneInfo,
        time_format: str | None,
        customer_id_type: str,
        now: datetime,
    ):
        self.columns, self.zone, self.time_format = columns, zone, time_format
        self.customer_id_type, self.now = customer_id_type, now
        self.first_row: dict[str, int] = {}

    def plan(self, session: Session, rows: list[SourceRow]) -> list[Planned | Problem]:
        lines: list[OrderLine | Problem] = []
        for row in rows:
            try:
                lines.append(self._line(row))
            except RowProblem as problem:
                lines.append(Problem(row, problem.column, problem.reason))
        voices = speakers(session, {line.customer for line in lines if isinstance(line, OrderLine)})
        return [
            self._messages(line, voices[line.customer]) if isinstance(line, OrderLine) else line
            for line in lines
        ]

    def _cell(self, row: SourceRow, field: str, convert):
        return read_cell(row, self.columns.source.get(field), convert)

    def _optional(self, row: SourceRow, field: str, convert):
        if self._cell(row, field, cells.text) is None:
            return None
        return self._cell(row, field, convert)

    def _time(self, cell: cells.Cell) -> datetime:
        return cells.past_moment(cell, self.zone, self.time_format, self.now, FUTURE_TOLERANCE)

    def _line(self, row: SourceRow) -> OrderLine:
        order_id = self._order_id(row)
        self.first_row[order_id] = row.number  # even when the row is bad: a repeat is flagged
        line = OrderLine(
            row=row,
            order_id=order_id,
            customer=self._customer(row),
            paid_at=self._cell(row, "paid_at", self._time),
            amount=self._cell(row, "amount", cells.amount),
            refunded_at=self._optional(row, "refunded_at", self._time),
            refund_amount=self._optional(row, "refund_amount", cells.amount),
            details=self._details(row),
        )
        self._check_refund(line)
        return line

    def _order_id(self, row: SourceRow) -> str:
        column = self.columns.column("order_id")
        order_id = self._cell(row, "order_id", cells.text)
        if order_id is None:
            raise RowProblem(column, "an order id is required")
        if len(order_id) > 128:
            raise RowProblem(column, "an order id has at most 128 characters")
        first = self.first_row.get(order_id)
        if first is not None:
            raise RowProblem(column, f"order {order_id!r} is on row {first} already")
        return order_id

    def _customer(self, row: SourceRow) -> Ref:
        column, kind = self.columns.column("customer_id"), self.customer_id_type
        raw = self._cell(row, "customer_id", cells.text)
        if raw is None:
            raise RowProblem(column, "a customer id is required")
        if kind == "siyu":
            if not is_whole_number(raw):
                raise RowProblem(column, f"{raw!r} is not a Siyu customer id")
            return kind, raw
        value = ids.normalize("user_id" if kind == "auto" else kind, raw)
        if value is None:
            raise RowProblem(column, unusable(kind, raw))
        return kind, value

    def _check_refund(self, line: OrderLine) -> None:
        column = self.columns.column("refund_amount")
        if line.refund_amount and line.refunded_at is None:
            raise RowProblem(column, "a refund needs its time (refunded_at)")
        if line.refund_amount and line.refund_amount > line.amount:
            raise RowProblem(column, f"the refund {line.refund_amount} is more than the order")

    def _details(self, row: SourceRow) -> dict:
        found = {f: self._cell(row, f, cells.text) for f in ("currency", "store", "touchpoint")}
        details = {f: v for f, v in found.items() if v is not None}
        product = {f: self._cell(row, f, cells.text) for f in ("product", "category")}
        if any(product.values()):
            details["products"] = [{"name": product["product"], "category": product["category"]}]
        return details

    def _messages(self, line: OrderLine, voice: dict | str) -> Planned | Problem:
        if isinstance(voice, str):
            return Problem(line.row, self.columns.column("customer_id"), voice)
        messages = [_completed(line, voice)]
        if line.refunded_at is not None and line.refund_amount != 0:
            messages.append(_refunded(line, line.refunded_at, voice))
        return checked(line.row, messages, self._message_columns())

    def _message_columns(self) -> dict[str, str]:
        column = self.columns.column
        return {
            "userId": column("customer_id"),
            "anonymousId": column("customer_id"),
            "properties.order_id": column("order_id"),
            "properties.revenue": column("amount"),
            "timestamp": column("paid_at"),
        }


def _yuan(amount: Decimal) -> str:
    return format(amount, "f")


def _completed(line: OrderLine, voice: dict) -> dict:
    return {
        "type": "track",
        "event": "Order Completed",
        "messageId": f"import-order-{line.order_id}-completed",
        "timestamp": line.paid_at.isoformat(),
        "properties": {"order_id": line.order_id, "revenue": _yuan(line.amount), **line.details},
        **voice,
    }


def _refunded(line: OrderLine, refunded_at: datetime, voice: dict) -> dict:
    properties = {"order_id": line.order_id}
    if line.refund_amount is not None:
        properties["revenue"] = _yuan(line.refund_amount)
    return {
        "type": "track",
        "event": "Order Refunded",
        "messageId": f"import-order-{line.order_id}-refunded",
        "timestamp": refunded_at.isoformat(),
        "properties": properties,
        **voice,
    }
