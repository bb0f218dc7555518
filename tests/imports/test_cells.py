"""Cells: amounts as Decimal (never float), times in the brand zone, export quirks."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from siyu.imports.cells import CellError, amount, moment, text

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("¥1,299.00", Decimal("1299.00")),
        ("￥88", Decimal("88")),
        ("1299元", Decimal("1299")),
        (" 12.30 ", Decimal("12.30")),
        (12.3, Decimal("12.3")),
        (0.1, Decimal("0.1")),
        (1299, Decimal("1299")),
    ],
)
def test_amounts_are_decimal(cell, expected):
    assert amount(cell) == expected and isinstance(amount(cell), Decimal)


@pytest.mark.parametrize("cell", ["12,3x", "-5", "abc", "NaN", True])
def test_unreadable_or_negative_amounts_are_refused(cell):
    with pytest.raises(CellError):
        amount(cell)


@pytest.mark.parametrize(
    "cell",
    [
        "2026-11-11 10:00:00",
        "2026/11/11 10:00:00",
        "2026/11/11 10:00",
        "2026-11-11T10:00:00",
        "2026年11月11日 10:00:00",
        datetime(2026, 11, 11, 10, 0),
    ],
)
def test_naive_times_are_the_brand_zone(cell):
    assert moment(cell, SHANGHAI) == datetime(2026, 11, 11, 2, 0, tzinfo=UTC)


def test_unpadded_dates_and_explicit_formats():
    assert moment("2026/1/5 9:30", SHANGHAI) == datetime(2026, 1, 5, 1, 30, tzinfo=UTC)
    assert moment("11/11/2026 10:00", SHANGHAI, "%m/%d/%Y %H:%M").hour == 2


def test_excel_text_wrappers_and_blank_markers():
    assert text('="20261111000123456789"') == "20261111000123456789"
    assert text(13800138000.0) == "13800138000"
    assert text("-") is None and text("  ") is None
