"""The same reports through `siyu report … --json`, the API and the console (with CSV)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from typer.testing import CliRunner

from siyu.cli import app
from tests.analytics.factories import SHANGHAI, write_lake


@pytest.fixture
def lake(rows, lake_root):
    rows.touchpoint("poster-1", "poster", "owned")
    rows.customer(1, first_touchpoint="poster-1")
    rows.event(
        1, "QR Code Scanned", datetime(2026, 11, 9, 10, tzinfo=SHANGHAI), touchpoint="poster-1"
    )
    rows.order(1, datetime(2026, 11, 9, 12, tzinfo=SHANGHAI), 8_800)
    write_lake(lake_root, rows)
    return lake_root


def test_attribution_json_names_the_model_and_each_touchpoint(lake):
    out = CliRunner().invoke(
        app,
        [
            "report",
            "attribution",
            "--model",
            "linear",
            "--lookback-days",
            "7",
            "--start",
            "2026-11-01",
            "--end",
            "2026-11-30",
            "--json",
        ],
    )

    assert out.exit_code == 0, out.output
    answer = json.loads(out.output)
    assert answer["model"] == "linear"
    assert answer["touchpoints"][0] == {
        **answer["touchpoints"][0],
        "touchpoint": "poster-1",
        "conversions": 1.0,
        "revenue": 88.0,
    }


def test_a_bad_option_is_an_error_naming_the_field(lake):
    out = CliRunner().invoke(app, ["report", "retention", "--unit", "year", "--json"])

    assert out.exit_code == 2
    assert "unit" in out.output


def test_the_api_answers_a_typed_query(lake, client, admin_token):
    answer = client.post(
        "/api/reports/gmv",
        json={"period": {"start": "2026-11-08", "end": "2026-11-14"}},
        headers={"Authorization": f"Bearer {admin_token}"},
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["total"]["current"]["gmv_fen"] == 8_800


def test_the_console_page_draws_charts_and_exports_csv(lake, signed_in):
    browser = signed_in("analyst")
    page = browser.get("/reports/gmv?start=2026-11-08&end=2026-11-14&breakdown=touchpoint")
    assert page.status_code == 200
    assert 'data-test="chart"' in page.text and "poster-1" in page.text

    csv = browser.get("/reports/gmv.csv?start=2026-11-08&end=2026-11-14&breakdown=touchpoint")
    assert csv.headers["content-type"].startswith("text/csv")
    assert "poster-1" in csv.text and "88.00" in csv.text


def test_a_file_replaced_while_it_is_read_is_read_again(lake, monkeypatch):
    """The shipper may swap a snapshot while a report reads it; the report reads it again."""
    import duckdb

    from siyu.analytics import gmv, runner

    real, calls = runner.fetch, []

    def swapped_once(expr, name, limit=runner.MAX_ROWS):
        calls.append(name)
        if len(calls) == 1:
            raise duckdb.InvalidInputException("TProtocolException: Invalid data")
        return real(expr, name, limit)

    monkeypatch.setattr(runner, "fetch", swapped_once)
    runner.clear_cache()
    day = datetime(2026, 11, 9).date()
    result = runner.run(gmv, gmv.Query(period={"start": day, "end": day})).result
    assert result.total.current.gmv_fen == 8_800
    assert len(calls) > 1


def test_the_page_shows_the_period_it_counts_and_groups_thousands(rows, lake_root, signed_in):
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    rows.customer(1)
    rows.customer(2)
    for customer_id in (1, 2):  # two visitors, one buyer: a conversion of 50 %
        rows.event(customer_id, "Product Viewed", datetime(2026, 11, 9, 10, tzinfo=SHANGHAI))
    rows.order(1, datetime(2026, 11, 9, 12, tzinfo=SHANGHAI), 123_456_700)  # ¥1,234,567.00
    write_lake(lake_root, rows)
    browser = signed_in("analyst")

    page = browser.get("/reports/gmv?start=2026-11-08&end=2026-11-14").text
    assert "1,234,567.00" in page and ">50.0%<" in page  # for reading
    csv = browser.get("/reports/gmv.csv?start=2026-11-08&end=2026-11-14").text
    assert "1234567.00" in csv and "0.5000" in csv  # the CSV keeps plain numbers
    assert "1,234,567" not in csv and "%" not in csv

    # No dates asked for: the fields show the brand's last 30 days, which is what was counted.
    days = [datetime.now(ZoneInfo("Asia/Shanghai")).date()]
    page = browser.get("/reports/gmv").text
    days.append(datetime.now(ZoneInfo("Asia/Shanghai")).date())  # in case midnight passed
    assert any(
        f'name="end" value="{day}"' in page
        and f'name="start" value="{day - timedelta(days=29)}"' in page
        for day in days
    )
