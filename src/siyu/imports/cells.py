"""Cells to values: text, amounts (Decimal, never float) and times (brand zone → UTC)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from siyu.core import csvsafe

Cell = str | int | float | Decimal | datetime | date | bool | None

# What spreadsheets and platform exports write for "nothing here".
BLANKS = {"", "-", "--", "—", "null", "none", "n/a", "#n/a", "无"}
_EXCEL_TEXT = re.compile(r'^="(.*)"$')  # Taobao writes ="2026…" so Excel keeps long ids as text
# Besides ISO 8601: what exports write, month and day unpadded (2026/1/5 9:30) or in Chinese.
_USUAL_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日",
)
_CURRENCY = re.compile(r"[¥￥,\s]|元$|^CNY|^RMB", re.IGNORECASE)


class CellError(ValueError):
    """A cell that cannot become the value its column needs; the message is the reason."""


def text(cell: Cell) -> str | None:
    """The cell as trimmed text, or None when it is blank."""
    if cell is None:
        return None
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)  # a spreadsheet number holding an id or phone: 13800138000.0
    value = cell.isoformat(sep=" ") if isinstance(cell, datetime) else str(cell).strip()
    value = csvsafe.restored(value)  # a rejected-rows file Siyu wrote, fixed and sent back
    match = _EXCEL_TEXT.match(value)
    if match:
        value = match.group(1).strip()
    return None if value.lower() in BLANKS else value


def amount(cell: Cell) -> Decimal:
    """Yuan as Decimal: 1299, "1,299.00", "¥1,299.00" or "1299元"; never through float."""
    if isinstance(cell, bool):
        raise CellError(f"{cell!r} is not an amount")
    if isinstance(cell, float):
        cell = repr(cell)  # the shortest text that reads back as the same number: 12.3, not 12.29…
    raw = text(cell)
    if raw is None:
        raise CellError("an amount is required")
    try:
        value = Decimal(_CURRENCY.sub("", raw))
    except InvalidOperation:
        raise CellError(f"{raw!r} is not an amount") from None
    if not value.is_finite() or value < 0:
        raise CellError(f"{raw!r} is not a non-negative amount")
    return value


def moment(cell: Cell, zone: ZoneInfo, time_format: str | None = None) -> datetime:
    """A time in UTC; a time without a zone is read in `zone` (the brand's)."""
    if isinstance(cell, datetime):
        value = cell
    elif isinstance(cell, date):
        value = datetime(cell.year, cell.month, cell.day)
    else:
        value = _parse(text(cell), time_format)
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def past_moment(
    cell: Cell, zone: ZoneInfo, time_format: str | None, now: datetime, tolerance: timedelta
) -> datetime:
    """A time that has happened: in an import, a future one is a misread, not a plan."""
    value = moment(cell, zone, time_format)
    if value > now + tolerance:
        raise CellError(f"{text(cell)!r} is in the future")
    return value


def _parse(raw: str | None, time_format: str | None) -> datetime:
    if raw is None:
        raise CellError("a time is required")
    attempts: list[tuple[str, str | None]]
    if time_format:
        attempts = [(raw, time_format)]
    else:
        attempts = [(raw, None)] + [(raw.replace("/", "-"), f) for f in _USUAL_FORMATS]
    for value, fmt in attempts:
        try:
            return datetime.strptime(value, fmt) if fmt else datetime.fromisoformat(value)
        except ValueError:
            continue
    expected = f"in the format {time_format}" if time_format else "like 2026-11-11 10:00:00"
    raise CellError(f"{raw!r} is not a time ({expected})")
