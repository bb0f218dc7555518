"""`siyu segment preview` and `siyu segment members` on a rule file."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from typer.testing import CliRunner

from siyu.segments.cli import app
from tests.segments.factories import SHANGHAI, write_lake

runner = CliRunner()


@pytest.fixture
def shoppers(rows, lake_root):
    for cid in (1, 2, 3):
        rows.customer(cid)
    rows.user_id(1, "u-1")
    rows.event(1, "Order Completed", datetime(2026, 11, 20, tzinfo=SHANGHAI), revenue=88)
    rows.event(2, "Order Completed", datetime(2026, 11, 21, tzinfo=SHANGHAI), revenue=12)
    rows.tag(3, "VIP")
    write_lake(lake_root, rows)


def write_rule(folder, name: str, rule: dict):
    path = folder / f"{name}.json"
    path.write_text(json.dumps(rule), encoding="utf-8")
    return path


def unwrapped(text: str) -> str:
    """Rich wraps long lines for the terminal."""
    return " ".join(text.split())


def test_preview_prints_the_count_and_a_sample_as_json(shoppers, tmp_path):
    rules = write_rule(tmp_path, "buyers", {"event": "Order Completed", "within_days": 7})

    result = runner.invoke(app, ["preview", str(rules), "--as-of", "2026-11-22", "--json"])

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "count": 2,
        "sample": [{"customer_id": 1, "user_id": "u-1"}, {"customer_id": 2, "user_id": None}],
    }


def test_preview_without_json_prints_a_table(shoppers, tmp_path):
    rules = write_rule(tmp_path, "vips", {"tag": "VIP"})

    result = runner.invoke(app, ["preview", str(rules)])

    assert result.exit_code == 0, result.output
    assert "1 customers" in result.stdout


def test_members_prints_a_user_id_or_the_customer_id_per_line(shoppers, tmp_path):
    rules = write_rule(tmp_path, "buyers", {"event": "Order Completed"})

    result = runner.invoke(app, ["members", str(rules), "--as-of", "2026-11-22"])

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["u-1", "2"]


def test_the_as_of_date_limits_what_has_happened(shoppers, tmp_path):
    rules = write_rule(tmp_path, "buyers", {"event": "Order Completed"})

    result = runner.invoke(app, ["members", str(rules), "--as-of", "2026-11-20T23:59"])

    assert result.stdout.splitlines() == ["u-1"]


def test_a_segment_is_found_next_to_the_rule_file(shoppers, tmp_path):
    write_rule(tmp_path, "vips", {"tag": "VIP"})
    rules = write_rule(tmp_path, "not_vips", {"not": {"segment": "vips"}})

    result = runner.invoke(app, ["members", str(rules)])

    assert result.stdout.splitlines() == ["u-1", "2"]


def test_an_invalid_rule_exits_with_the_path_of_the_bad_node(shoppers, tmp_path):
    rules = write_rule(
        tmp_path, "bad", {"and": [{"tag": "a"}, {"tag": "b"}, {"event": "A", "count": {"gte": -1}}]}
    )

    result = runner.invoke(app, ["preview", str(rules), "--json"])

    assert result.exit_code == 2
    assert "($.and[2].count.gte): must be a non-negative integer" in unwrapped(result.stderr)


def test_a_rule_file_that_is_not_json_is_refused(shoppers, tmp_path):
    rules = tmp_path / "broken.json"
    rules.write_text("{not json", encoding="utf-8")

    result = runner.invoke(app, ["members", str(rules)])

    assert result.exit_code == 2
    assert "broken.json is not JSON" in unwrapped(result.stderr)
