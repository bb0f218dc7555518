"""A report's result as people read it: a table (the console's and the CSV's) and charts."""

from __future__ import annotations

import inspect
import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from siyu.core import csvsafe, i18n

Translate = Callable[[str], str]


def yuan(fen: float | int | None) -> str:
    """Fen as yuan with two decimals (the CSV's and the table's money)."""
    return f"{Decimal(round(fen or 0)) / 100:.2f}"


def ratio(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


class Rate(str):
    """A share of a whole as the CSV writes it (0.5310); the console's table reads it as 53.1%."""

    def shown(self) -> str:
        return f"{float(self):.1%}" if self else ""


def rate(value: float | None, digits: int = 4) -> Rate:
    """A conversion, retention or execution rate: a ratio() that the console shows as a percent."""
    return Rate(ratio(value, digits))


Names = dict[str, dict[str, str]]  # "guide" / "store" → id → name, for labels


def table_of(
    module, result, locale: str, names: Names | None = None
) -> tuple[list[str], list[list[Any]]]:
    _ = i18n.translations(locale).gettext
    headers, rows = _call(module.table, result, _, names)
    return [_(h) for h in headers], rows


def charts_of(module, result, locale: str, names: Names | None = None) -> list[dict]:
    """[{"title", "option"}]: ECharts options with labels in the reader's language."""
    _ = i18n.translations(locale).gettext
    return _call(module.charts, result, _, names)


def summary_of(module, result, locale: str) -> list[tuple[str, str]]:
    """(label, value) pairs a report puts above its charts, if it has any."""
    if not hasattr(module, "summary"):
        return []
    return module.summary(result, i18n.translations(locale).gettext)


def notes_of(module, result, locale: str) -> list[str]:
    """What a reader must know before trusting the result (a model the data cannot support),
    in their language; most reports have none."""
    if not hasattr(module, "notes"):
        return []
    return module.notes(result, i18n.translations(locale).gettext)


def _call(draw, result, _, names: Names | None):
    if "names" in inspect.signature(draw).parameters:
        return draw(result, _, names=names or {})
    return draw(result, _)


def csv_of(module, result, locale: str, names: Names | None = None) -> str:
    """With a BOM, so Excel reads UTF-8."""
    headers, rows = table_of(module, result, locale, names)
    buffer = io.StringIO()
    writer = csvsafe.writer(buffer)
    writer.writerow(headers)
    writer.writerows(rows)
    return "\ufeff" + buffer.getvalue()


def bars(categories: list[str], series: list[tuple[str, list]], *, stack: bool = False) -> dict:
    return {
        "tooltip": {"trigger": "axis", "confine": True},
        "legend": {"type": "scroll", "bottom": 0},
        "grid": {"left": 8, "right": 8, "top": 16, "bottom": 40, "containLabel": True},
        "xAxis": {"type": "category", "data": categories},
        "yAxis": {"type": "value"},
        "series": [
            {"name": name, "type": "bar", "data": data, **({"stack": "all"} if stack else {})}
            for name, data in series
        ],
    }


def lines(categories: list[str], series: list[tuple[str, list]]) -> dict:
    option = bars(categories, series)
    for line in option["series"]:
        line.update(type="line", showSymbol=False)
    return option
