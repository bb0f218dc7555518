"""CSV, XLSX and JSONL files as numbered rows, numbered as a spreadsheet shows them (header = 1)."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import openpyxl

from siyu.core.errors import InvalidInput
from siyu.imports.cells import Cell, text

TABLE_SUFFIXES = (".csv", ".xlsx")
LINES_SUFFIXES = (".jsonl", ".ndjson")


@dataclass(frozen=True)
class SourceRow:
    number: int
    cells: dict[str, Cell]


@dataclass
class Table:
    header: list[str]
    rows: Iterator[SourceRow]


@contextmanager
def open_table(
    path: Path, sheet: str | None = None, header_row: int = 1, encoding: str | None = None
) -> Iterator[Table]:
    """The header and the non-blank rows of a CSV file or an XLSX sheet."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding=encoding or sniff_encoding(path)) as handle:
            yield _table(csv.reader(handle), header_row, path)
    elif suffix == ".xlsx":
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            yield _table(_sheet(book, sheet, path).iter_rows(values_only=True), header_row, path)
        finally:
            book.close()
    else:
        raise InvalidInput(f"{path.name}: give a .csv or .xlsx file", field="file")


def open_lines(path: Path) -> Iterator[tuple[int, str]]:
    """The non-blank lines of a JSON-lines file with their line numbers."""
    if path.suffix.lower() not in LINES_SUFFIXES:
        raise InvalidInput(f"{path.name}: give a .jsonl file (a JSON message a line)", field="file")
    with path.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, line.strip()


def sniff_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM), else GB18030, which Chinese Excel and platform exports use."""
    with path.open("rb") as handle:
        head = handle.read(1 << 20)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def _sheet(book, name: str | None, path: Path):
    if name is None:
        sheet = book.worksheets[0]
    elif name in book.sheetnames:
        sheet = book[name]
    else:
        sheets = ", ".join(book.sheetnames)
        raise InvalidInput(f"{path.name} has no sheet {name!r} (it has {sheets})", field="sheet")
    sheet.reset_dimensions()  # exporters often write wrong dimensions; read what is there
    return sheet


def _table(lines: Iterator, header_row: int, path: Path) -> Table:
    numbered = enumerate(lines, start=1)
    for number, cells in numbered:
        if number == header_row:
            header = _header(cells, path)
            return Table(header, _rows(numbered, header))
    raise InvalidInput(f"{path.name} has no header row {header_row}", field="file")


def _header(cells, path: Path) -> list[str]:
    names = [text(cell) or "" for cell in cells]
    seen: set[str] = set()
    for name in names:
        if name and name in seen:
            raise InvalidInput(f"{path.name}: the column {name!r} appears twice", field="file")
        seen.add(name)
    if not any(names):
        raise InvalidInput(f"{path.name}: the header row is empty", field="file")
    return names


def _rows(numbered: Iterator, header: list[str]) -> Iterator[SourceRow]:
    for number, cells in numbered:
        values = {name: cell for name, cell in zip(header, cells, strict=False) if name}
        if any(text(cell) is not None for cell in values.values()):
            yield SourceRow(number, values)
