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
    """A conversion, retention or execution rate, a share or an ROI: a ratio() that the console
    shows as a percent."""
    return Rate(ratio(value, digits))


class Count(str):
    """A count as the CSV writes it; the console shows it whole. Attribution's conversions are
    credit shared between touchpoints (0.33 of an order), so the CSV keeps their decimals."""

    def shown(self) -> str:
        return f"{round(float(self)):,}" if self else ""


def count(value: float | int | None, digits: int = 2) -> Count:
    if value is None:
        return Count("")
    return Count(str(value) if isinstance(value, int) else f"{value:.{digits}f}")


class Grouped(str):
    """A cell the CSV writes plainly (1019 (22.4%)) and the console with its thousands grouped
    (1,019 (22.4%))."""

    grouped: str

    def __new__(cls, text: str, grouped: str) -> Grouped:
        cell = super().__new__(cls, text)
        cell.grouped = grouped
        return cell

    def shown(self) -> str:
        return self.grouped


class Named(str):
    """A store or touchpoint: the CSV writes its text (a touchpoint's code, a store's name, as
    they always did); the console shows its name, with its code on hover."""

    name: str
    hover: str

    def __new__(cls, text: str, name: str | None = None, hover: str | None = None) -> Named:
        cell = super().__new__(cls, text)
        cell.name = name or text
        cell.hover = hover or ""
        return cell

    def shown(self) -> str:
        return self.name


def plain(label: str) -> str:
    """A row's label as a chart's axis writes it: a store's or touchpoint's name."""
    return label.shown() if isinstance(label, Named) else label


Names = dict[str, dict[str, str]]  # "guide" / "store" / "touchpoint" → key → name, for labels


def named(kind: str, key: str, names: Names | None) -> Named:
    """A touchpoint (by code) or a store (by id) as a report's row shows it: its name, with its
    code on hover (names["store_code"] holds the stores' codes)."""
    known = names or {}
    name = known.get(kind, {}).get(key)
    if kind == "touchpoint":
        return Named(key, name, key if name else "")
    code = known.get(f"{kind}_code", {}).get(key)
    return Named(name or key, name, code)


def table_of(
    module, result, locale: str, names: Names | None = None
) -> tuple[list[str], list[list[Any]]]:
    _ = i18n.translations(locale).gettext
    headers, rows = _call(module.table, result, _, names)
    return [_(h) for h in headers], rows


def charts_of(module, result, locale: str, names: Names | None = None) -> list[dict]:
    """[{"title", "option", "height"}]: ECharts options with labels in the reader's language,
    and the height in px each needs (bars along the side need a line each)."""
    _ = i18n.translations(locale).gettext
    found = _call(module.charts, result, _, names)
    for chart in found:
        chart["height"] = chart["option"].pop("height", 300)
    return found


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


def bars(
    categories: list[str],
    series: list[tuple[str, list]],
    *,
    stack: bool = False,
    horizontal: bool | None = None,
) -> dict:
    """Bars; many or long category names lie along the side, each on its own line, since under
    the bars ECharts would hide every other one to keep them from colliding."""
    if horizontal is None:
        horizontal = len(categories) > 8 or (
            len(categories) > 3 and max(len(c) for c in categories) * len(categories) > 40
        )
    # Under the bars, each name wraps within its slot (a chart is about 480 px wide).
    slot = max(40, 480 // max(1, len(categories)) - 8)
    under = {"interval": 0, "width": slot, "overflow": "break"}
    category = {
        "type": "category",
        "data": categories,
        "axisLabel": {"interval": 0} if horizontal else under,
    }
    value = {"type": "value"}
    option = {
        "tooltip": {"trigger": "axis", "confine": True},
        "legend": {"type": "scroll", "bottom": 0},
        "grid": {"left": 8, "right": 28, "top": 16, "bottom": 40, "containLabel": True},
        "xAxis": value if horizontal else category,
        "yAxis": {**category, "inverse": True} if horizontal else value,
        "series": [
            {"name": name, "type": "bar", "data": data, **({"stack": "all"} if stack else {})}
            for name, data in series
        ],
    }
    if horizontal:
        option["height"] = max(300, 60 + 22 * len(categories) * max(1, len(series)))
    return option


def lines(categories: list[str], series: list[tuple[str, list]]) -> dict:
    option = bars(categories, series, horizontal=False)
    option["xAxis"]["axisLabel"] = {"hideOverlap": True}  # a time axis may skip some labels
    for line in option["series"]:
        line.update(type="line", showSymbol=False)
    return option
