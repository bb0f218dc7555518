"""All or nothing: a bad row stops the import, named by row, column and reason; --skip-bad."""

from __future__ import annotations

import csv

import pytest

from siyu.core.errors import InvalidInput
from tests.imports.helpers import EXAMPLES, orders, run, stored_events, write_csv

YOUZAN = [
    "订单编号",
    "买家手机号",
    "付款时间",
    "实付金额",
    "退款时间",
    "退款金额",
    "商品名称",
    "商品分类",
    "门店",
]


def _youzan(tmp_path, rows):
    return write_csv(tmp_path / "orders.csv", YOUZAN, rows)


def _mapping(tmp_path):
    text = (EXAMPLES / "youzan-mapping.json").read_text(encoding="utf-8")
    path = tmp_path / "mapping.json"
    path.write_text(text.replace('"skip": {"订单状态": ["待付款", "已关闭"]}', '"skip": {}'))
    return path


GOOD = ["E1", "13800138000", "2026-11-11 10:00:00", "12.30", "", "", "茶", "饮品", "杭州西湖店"]
BAD_AMOUNT = ["E2", "13800138000", "2026-11-11 10:00:00", "12,3x", "", "", "茶", "", ""]
BAD_PHONE = ["E3", "12345", "2026-11-11 10:00:00", "1", "", "", "", "", ""]


def test_a_bad_row_writes_nothing_and_names_row_column_and_reason(tmp_path, session):
    path = _youzan(tmp_path, [[f"G{n}", *GOOD[1:]] for n in range(5)] + [BAD_AMOUNT, BAD_PHONE])
    summary = run("orders", path, _mapping(tmp_path))
    assert summary.stopped
    assert (summary.rows, summary.rejected, summary.imported) == (7, 2, 0)
    assert summary.problems == [
        "row 7, 实付金额: '12,3x' is not an amount",
        "row 8, 买家手机号: '12345' is not a mobile number",
    ]
    assert stored_events(session) == 0 and orders(session) == {}


def test_skip_bad_imports_the_good_rows_and_sets_the_bad_ones_aside(tmp_path, session):
    path = _youzan(tmp_path, [GOOD, BAD_AMOUNT, BAD_PHONE])
    summary = run("orders", path, _mapping(tmp_path), skip_bad=True)
    assert not summary.stopped
    assert (summary.imported, summary.rejected) == (1, 2)
    assert set(orders(session)) == {"E1"}
    rejected = tmp_path / "orders.rejected.csv"
    assert summary.rejected_file == str(rejected)
    with rejected.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["_row"], r["订单编号"], r["_reason"]) for r in rows] == [
        ("3", "E2", "实付金额: '12,3x' is not an amount"),
        ("4", "E3", "买家手机号: '12345' is not a mobile number"),
    ]


def test_the_fixed_rejected_file_imports_as_is(tmp_path, session):
    path = _youzan(tmp_path, [GOOD, BAD_AMOUNT])
    run("orders", path, _mapping(tmp_path), skip_bad=True)
    rejected = tmp_path / "orders.rejected.csv"
    fixed = tmp_path / "fixed.csv"
    fixed.write_text(rejected.read_text(encoding="utf-8-sig").replace('"12,3x"', "12.30"))
    summary = run("orders", fixed, _mapping(tmp_path))
    assert (summary.imported, summary.rejected) == (1, 0)
    assert set(orders(session)) == {"E1", "E2"}


def test_a_repeated_order_and_an_impossible_date_are_bad_rows(tmp_path, session):
    path = _youzan(
        tmp_path,
        [GOOD, GOOD, ["E5", "13800138000", "2026-11-31 10:00:00", "1", "", "", "", "", ""]],
    )
    summary = run("orders", path, _mapping(tmp_path))
    assert summary.problems == [
        "row 3, 订单编号: order 'E1' is on row 2 already",
        "row 4, 付款时间: '2026-11-31 10:00:00' is not a time (in the format %Y-%m-%d %H:%M:%S)",
    ]


def test_a_missing_column_stops_before_any_row(tmp_path):
    path = write_csv(
        tmp_path / "orders.csv", ["order_id", "customer_id", "amount"], [["A", "U", "1"]]
    )
    with pytest.raises(InvalidInput, match="no column 'paid_at'"):
        run("orders", path)
