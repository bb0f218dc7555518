"""Reports filtered to a saved segment (人群包): the console's Segment menu, its CSV, the API's
`?segment=KEY` and `siyu report … --segment KEY`."""

from __future__ import annotations

import json
import re
from datetime import datetime
from html import unescape

import pytest
from typer.testing import CliRunner

from siyu.analytics.registry import REPORTS
from siyu.cli import app
from siyu.core.db import unit_of_work
from siyu.segments import service as segments
from tests.analytics.factories import SHANGHAI, write_lake

PERIOD = "start=2026-11-08&end=2026-11-14"


@pytest.fixture
def lake(rows, lake_root):
    """Two buyers in the week: one came through a poster, one through nothing."""
    rows.touchpoint("poster-1", "poster", "owned")
    rows.customer(1, first_touchpoint="poster-1")
    rows.customer(2)
    for customer_id, amount in ((1, 8_800), (2, 5_000)):
        rows.order(customer_id, datetime(2026, 11, 9, 12, tzinfo=SHANGHAI), amount)
    write_lake(lake_root, rows)
    with unit_of_work() as s:
        segments.create_segment(
            s, "posters", "海报客户", {"first_touchpoint": {"in": ["poster-1"]}}
        )
        # A segment that names another: the report reads it with the other's rule written in.
        segments.create_segment(s, "not-posters", "Not posters", {"not": {"segment": "posters"}})
    return lake_root


def _orders(page_text: str) -> str:
    table = re.search(r'data-test="report-table">(.*?)</table>', page_text, re.S).group(1)
    first_row = re.search(r"<tbody>\s*<tr>(.*?)</tr>", table, re.S).group(1)
    return [unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", first_row)]


def test_the_console_report_filtered_by_a_segment_counts_only_its_members(lake, signed_in):
    browser = signed_in("analyst")

    everyone = browser.get(f"/reports/gmv?{PERIOD}")
    posters = browser.get(f"/reports/gmv?{PERIOD}&segment=posters")

    assert everyone.status_code == posters.status_code == 200
    assert _orders(everyone.text)[1:4] == ["2", "2", "2"]  # visitors, buyers, orders
    assert _orders(posters.text)[1:4] == ["1", "1", "1"]
    assert '<option value="posters" selected>海报客户</option>' in posters.text
    assert "segment=posters" in re.search(r'href="([^"]*)" data-test="csv"', posters.text).group(1)


def test_the_csv_follows_the_segment_and_a_nested_segment_is_read_whole(lake, signed_in):
    browser = signed_in("analyst")

    csv = browser.get(f"/reports/gmv.csv?{PERIOD}&segment=not-posters").text.splitlines()

    assert csv[1].split(",")[1:4] == ["1", "1", "1"]
    assert "50.00" in csv[1]  # the customer who did not come through the poster


def test_every_report_form_offers_the_saved_segments(lake, signed_in):
    browser = signed_in("analyst")
    for kind in REPORTS:
        page = browser.get(f"/reports/{kind}?segment=posters")
        assert page.status_code == 200, kind
        assert 'data-test="segment-filter"' in page.text, kind
        assert '<option value="posters" selected>' in page.text, kind


def test_an_unknown_segment_is_said_on_the_page(lake, signed_in):
    page = signed_in("analyst").get(f"/reports/gmv?{PERIOD}&segment=gone")

    assert page.status_code == 200 and 'data-test="problem"' in page.text


def test_the_api_takes_a_saved_segments_key(lake, client, admin_token):
    auth = {"Authorization": f"Bearer {admin_token}"}
    query = {"period": {"start": "2026-11-08", "end": "2026-11-14"}}

    answer = client.post("/api/reports/gmv?segment=posters", json=query, headers=auth)
    unknown = client.post("/api/reports/gmv?segment=gone", json=query, headers=auth)

    assert answer.status_code == 200, answer.text
    assert answer.json()["total"]["current"]["gmv_fen"] == 8_800
    assert unknown.status_code == 404


def test_the_cli_takes_a_saved_segments_key_or_a_rule_file(lake, tmp_path):
    command = ["report", "gmv", "--start", "2026-11-08", "--end", "2026-11-14", "--json"]
    rule = tmp_path / "rule.json"
    rule.write_text(json.dumps({"first_touchpoint": {"in": ["poster-1"]}}))

    by_key = CliRunner().invoke(app, [*command, "--segment", "not-posters"])
    by_file = CliRunner().invoke(app, [*command, "--segment", str(rule)])
    unknown = CliRunner().invoke(app, [*command, "--segment", "gone"])

    assert by_key.exit_code == 0, by_key.output
    assert json.loads(by_key.output)["total"]["current"]["gmv_fen"] == 5_000
    assert json.loads(by_file.output)["total"]["current"]["gmv_fen"] == 8_800
    assert unknown.exit_code == 2 and "no such segment" in unknown.output


def test_a_segments_lifecycle_conditions_use_the_brands_lifecycle_days(lake, client, admin_token):
    from siyu.segments.lifecycle import set_thresholds

    auth = {"Authorization": f"Bearer {admin_token}"}
    query = {"period": {"start": "2026-11-08", "end": "2026-11-14"}}
    with unit_of_work() as s:
        segments.create_segment(s, "active", "Active", {"lifecycle": {"in": ["active"]}})

    def gmv() -> int:
        answer = client.post("/api/reports/gmv?segment=active", json=query, headers=auth)
        assert answer.status_code == 200, answer.text
        return answer.json()["total"]["current"]["gmv_fen"]

    assert gmv() == 13_800  # both bought 5 days before the period's end: active within 90 days
    with unit_of_work() as s:
        set_thresholds(s, new_days=2, active_days=3, churned_days=10)
    assert gmv() == 0  # active now means an order within 3 days: neither is
