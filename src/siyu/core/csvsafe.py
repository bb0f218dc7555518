"""CSV that a spreadsheet opens as data: cells that would start a formula are neutralised.

Excel, WPS and LibreOffice run a cell beginning with `=`, `+`, `-` or `@` as a formula (and a
leading tab or carriage return can hide one), so a customer's name such as
`=HYPERLINK("http://evil","点我")` in an export would become a live link or worse. Every CSV
Siyu writes goes through `writer()`, which prefixes such a cell with a single quote: the
spreadsheet shows the text as it was, with the quote before it. A plain number (`-12`, `-3.5`,
`-7.1%`) is left alone: it is no formula, and a report's negative changes stay numbers.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any, TextIO

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
_PLAIN_NUMBER = re.compile(r"-\d+(\.\d+)?%?")


def safe_cell(value: Any) -> Any:
    """The value as a spreadsheet should show it: text that would run as a formula is quoted."""
    if not isinstance(value, str) or not value.startswith(TRIGGERS):
        return value
    if _PLAIN_NUMBER.fullmatch(value):
        return value
    return QUOTE + value


def restored(value: str) -> str:
    """The text `safe_cell` quoted, unquoted again: a file Siyu wrote can be imported back."""
    if value.startswith(QUOTE) and value[1:].startswith(TRIGGERS):
        return value[1:]
    return value


class SafeWriter:
    """`csv.writer` with every cell passed through `safe_cell`."""

    def __init__(self, handle: TextIO, **options: Any):
        self._csv = csv.writer(handle, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._csv.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(handle: TextIO, **options: Any) -> SafeWriter:
    return SafeWriter(handle, **options)
