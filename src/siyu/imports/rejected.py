"""Bad rows, with the reason, in a file beside the input: orders.csv → orders.rejected.csv."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TextIO

import orjson

from siyu.core import csvsafe
from siyu.imports.cells import Cell
from siyu.imports.event_lines import LINE
from siyu.imports.plans import Problem

ROW, REASON = "_row", "_reason"  # leading "_": an import never reads these columns


class RejectedFile:
    """Opened at the first bad row; the bad rows can be fixed there and imported again."""

    def __init__(self, source: Path, as_lines: bool):
        suffix = ".jsonl" if as_lines else ".csv"
        self.path = source.with_name(f"{source.stem}.rejected{suffix}")
        self.as_lines = as_lines
        self.header: list[str] = []
        self.count = 0
        self._handle: TextIO | None = None
        self._csv: csvsafe.SafeWriter | None = None

    def add(self, problem: Problem) -> None:
        if self._handle is None:
            self._handle = self._open()
        reason = f"{problem.column}: {problem.reason}" if problem.column else problem.reason
        if self.as_lines:
            self._handle.write(_line(problem, reason) + "\n")
        elif self._csv is not None:  # _open made it for a table
            cells = [_raw(problem.row.cells.get(name)) for name in self.header if name]
            self._csv.writerow([problem.row.number, *cells, reason])
        self.count += 1

    def _open(self) -> TextIO:
        # utf-8-sig, so that Excel shows Chinese headers instead of mojibake
        encoding = "utf-8" if self.as_lines else "utf-8-sig"
        handle = self.path.open("w", newline="", encoding=encoding)
        if not self.as_lines:
            self._csv = csvsafe.writer(handle)
            self._csv.writerow([ROW, *(name for name in self.header if name), REASON])
        return handle

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()

    def __enter__(self) -> RejectedFile:
        return self

    def __exit__(self, *_) -> None:
        self.close()


def _line(problem: Problem, reason: str) -> str:
    text = str(problem.row.cells.get(LINE, ""))
    try:
        original = orjson.loads(text)
    except orjson.JSONDecodeError:
        original = None
    body = original if isinstance(original, dict) else {"_line": text}
    return orjson.dumps({ROW: problem.row.number, REASON: reason, **body}).decode()


def _raw(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, datetime):
        return cell.isoformat(sep=" ")
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)
