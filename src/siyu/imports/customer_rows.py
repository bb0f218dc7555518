"""Customer rows to `identify` messages: identities, a name, and every other column as a trait."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy.orm import Session

from siyu.customers import identity as ids
from siyu.events.service import FUTURE_TOLERANCE
from siyu.imports import cells
from siyu.imports.mapping import CUSTOMER_IDENTITIES, TRAIT_PREFIX, Columns
from siyu.imports.plans import Planned, Problem, RowProblem, checked, read_cell
from siyu.imports.readers import SourceRow
from siyu.imports.refs import Ref, speakers, unusable


@dataclass
class IdentifyCall:
    row: SourceRow
    message: dict
    ref: Ref | None  # without a user_id: the strongest identity, to find who already has it


class CustomerRows:
    """Plans customer rows; a row without any identity, or with an unusable one, is bad."""

    def __init__(self, columns: Columns, zone: ZoneInfo, time_format: str | None, now: datetime):
        self.columns, self.zone, self.time_format, self.now = columns, zone, time_format, now

    def plan(self, session: Session, rows: list[SourceRow]) -> list[Planned | Problem]:
        calls: list[IdentifyCall | Problem] = []
        for row in rows:
            try:
                calls.append(self._identify(row))
            except RowProblem as problem:
                calls.append(Problem(row, problem.column, problem.reason))
        voices = speakers(session, {c.ref for c in calls if isinstance(c, IdentifyCall) and c.ref})
        return [c if isinstance(c, Problem) else self._checked(c, voices) for c in calls]

    def _identify(self, row: SourceRow) -> IdentifyCall:
        found = self._identities(row)
        traits = {k: v for k, v in found.items() if k != "user_id"} | self._traits(row)
        message = {"type": "identify", "traits": traits}
        created = read_cell(row, self.columns.source.get("created_at"), self._time)
        if created is not None:
            message["timestamp"] = created.isoformat()
        message["messageId"] = "import-customer-" + _digest({"ids": found, **message})
        if "user_id" in found:
            return IdentifyCall(row, {**message, "userId": found["user_id"]}, None)
        return IdentifyCall(row, message, min(found.items(), key=lambda i: ids.PRIORITY[i[0]]))

    def _identities(self, row: SourceRow) -> dict[str, str]:
        found = {}
        for kind in CUSTOMER_IDENTITIES:
            column = self.columns.source.get(kind)
            raw = read_cell(row, column, cells.text)
            if raw is None:
                continue
            value = ids.normalize(kind, raw)
            if value is None:
                raise RowProblem(column, unusable(kind, raw))
            found[kind] = value
        if not found:
            names = ", ".join(CUSTOMER_IDENTITIES)
            raise RowProblem(None, f"nothing identifies the customer (give one of {names})")
        return found

    def _traits(self, row: SourceRow) -> dict:
        named = {"name": self.columns.source.get("name")}
        named |= {
            field.removeprefix(TRAIT_PREFIX): column
            for field, column in self.columns.source.items()
            if field.startswith(TRAIT_PREFIX)
        }
        named |= {column: column for column in self.columns.others}
        traits = {
            name: self._trait(row.cells.get(column))
            for name, column in named.items()
            if column is not None
        }
        return {name: value for name, value in traits.items() if value is not None}

    def _trait(self, cell: cells.Cell):
        if isinstance(cell, (datetime, date)):
            return cells.moment(cell, self.zone).isoformat()
        if isinstance(cell, float) and cell.is_integer():
            return int(cell)
        if isinstance(cell, (bool, int, float)):
            return cell
        return cells.text(cell)

    def _time(self, cell: cells.Cell) -> datetime | None:
        if cells.text(cell) is None:
            return None
        return cells.past_moment(cell, self.zone, self.time_format, self.now, FUTURE_TOLERANCE)

    def _checked(self, call: IdentifyCall, voices: dict) -> Planned | Problem:
        message = call.message | voices[call.ref] if call.ref else call.message
        column = self.columns.column
        return checked(
            call.row, [message], {"userId": column("user_id"), "timestamp": column("created_at")}
        )


def _digest(content: dict) -> str:
    """The same row, imported again, gets the same messageId; a changed row a new one."""
    body = orjson.dumps(content, option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.sha256(body).hexdigest()[:32]
