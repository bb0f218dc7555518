"""`siyu import` as a person runs it: a summary, --json, and a non-zero exit on bad rows."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from siyu.cli import app
from tests.imports.helpers import EXAMPLES, ORDER_HEADER, orders, write_csv

runner = CliRunner()


def test_import_orders_prints_a_json_summary(session):
    result = runner.invoke(app, ["import", "orders", str(EXAMPLES / "orders.csv"), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["rows"], summary["imported"], summary["rejected"]) == (4, 4, 0)
    assert summary["customers_created"] == 3
    assert len(orders(session)) == 4


def test_import_with_the_youzan_mapping_prints_a_summary_line(session):
    result = runner.invoke(
        app,
        [
            "import",
            "orders",
            str(EXAMPLES / "youzan-orders.csv"),
            "--mapping",
            str(EXAMPLES / "youzan-mapping.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "4 rows read" in result.stdout and "4 imported" in result.stdout


def test_bad_rows_exit_non_zero_and_are_listed(tmp_path, session):
    path = write_csv(
        tmp_path / "orders.csv",
        ORDER_HEADER,
        [["A1", "U1", "2026-11-11 10:00:00", "abc", "", "", ""]],
    )
    result = runner.invoke(app, ["import", "orders", str(path)])
    assert result.exit_code == 1
    assert "row 2, amount: 'abc' is not an amount" in result.stderr
    assert "nothing was imported" in result.stderr
    assert orders(session) == {}


def test_a_missing_file_is_a_usage_error(tmp_path):
    result = runner.invoke(app, ["import", "events", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2
    assert "no file" in result.stderr
