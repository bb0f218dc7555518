"""What a row of an import becomes: the messages to ingest, or the problem that stops it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from siyu.imports.cells import Cell, CellError
from siyu.imports.checks import message_problem
from siyu.imports.readers import SourceRow


@dataclass
class Planned:
    row: SourceRow
    messages: list[dict]


@dataclass
class Problem:
    row: SourceRow
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = f", {self.column}" if self.column else ""
        return f"row {self.row.number}{where}: {self.reason}"


class RowProblem(Exception):
    """Raised while reading a row: the column (as the file names it) and the reason."""

    def __init__(self, column: str | None, reason: str):
        super().__init__(reason)
        self.column, self.reason = column, reason


class Planner(Protocol):
    def plan(self, session: Session, rows: list[SourceRow]) -> list[Planned | Problem]: ...


def read_cell(row: SourceRow, column: str | None, convert: Callable[[Cell], object]):
    """One cell through its converter; a bad cell becomes a RowProblem naming the column."""
    try:
        return convert(row.cells.get(column) if column else None)
    except CellError as error:
        raise RowProblem(column, str(error)) from None


def checked(row: SourceRow, messages: list[dict], columns: dict[str, str]) -> Planned | Problem:
    """The row's messages if ingest() would take every one; else the first problem."""
    for message in messages:
        found = message_problem(message)
        if found:
            field, reason = found
            return Problem(row, columns.get(field or "", field), reason)
    return Planned(row, messages)
