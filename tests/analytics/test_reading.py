"""Reports as people read them: counts whole, rates and ROI as percents, touchpoints and stores
by name with their code on hover, a waterfall coloured by sign, charts whose labels fit; and the
CLI's reports that run with no options, as the console's do."""

from __future__ import annotations

import json
from datetime import date, datetime

from typer.testing import CliRunner

from siyu.analytics import attribution, funnels, gmv, retention
from siyu.analytics.present import bars, charts_of, csv_of, table_of
from siyu.cli import app
from tests.analytics.factories import SHANGHAI, write_lake

NAMES = {
    "touchpoint": {"ad-moments": "朋友圈广告"},
    "store": {"7": "山茶·坡子街店"},
    "store_code": {"7": "cs-pozi"},
}


def _credited() -> attribution.Result:
    shared = attribution.Credit(
        touchpoint="ad-moments",
        entry_type="paid",
        conversions=2.5,
        revenue=1234.5,
        revenue_fen=123_450,
        cost_fen=100_000,
        roi=0.2345,
    )
    return attribution.Result(
        model="linear",
        lookback_days=30,
        conversions=3,
        revenue_fen=123_450,
        touchpoints=[shared],
        entry_types=[],
    )


def test_attribution_reads_names_whole_counts_and_roi_as_a_percent():
    _headers, [row] = table_of(attribution, _credited(), "zh-CN", NAMES)

    touchpoint, _entry, conversions, _revenue, _cost, roi = row
    assert touchpoint.shown() == "朋友圈广告" and touchpoint.hover == "ad-moments"
    assert conversions.shown() == "2" and roi.shown() == "23.4%"
    csv = csv_of(attribution, _credited(), "en", NAMES)
    assert "ad-moments,Paid,2.50,1234.50,1000.00,0.2345" in csv  # the CSV keeps plain numbers
    [revenue] = charts_of(attribution, _credited(), "en", NAMES)[:1]
    assert revenue["option"]["xAxis"]["data"] == ["朋友圈广告"]


def _changed(visitors_fen: int, conversion_fen: int) -> gmv.Result:
    """A week whose GMV held: more visitors added ¥20, a lower conversion took ¥20 away."""
    explained = dict.fromkeys(gmv.FACTORS, 0) | {
        "visitors": visitors_fen,
        "conversion": conversion_fen,
    }
    total = gmv.Row(
        key=gmv.TOTAL,
        current=gmv.Factors(visitors=12, buyers=5, orders=5, gmv_fen=10_000),
        previous=gmv.Factors(visitors=10, buyers=5, orders=5, gmv_fen=10_000),
        change_fen=0,
        explained_fen=explained,
        conversion=5 / 12,
        average_order_fen=2_000,
        frequency=1.0,
    )
    return gmv.Result(
        period={"start": date(2026, 11, 1), "end": date(2026, 11, 7)},
        previous={"start": date(2026, 10, 25), "end": date(2026, 10, 31)},
        breakdown="store",
        total=total,
        rows=[total.model_copy(update={"key": "7"})],
    )


def test_the_gmv_waterfall_is_coloured_by_sign_and_stores_read_by_name():
    result = _changed(visitors_fen=2_000, conversion_fen=-2_000)

    waterfall, _by_store = charts_of(gmv, result, "en", NAMES)
    bars_shown = waterfall["option"]["series"][1]["data"]
    colours = [bar["itemStyle"]["color"] for bar in bars_shown]
    assert colours[0] == colours[-1] == gmv.TOTAL_COLOUR
    assert colours[1:3] == [gmv.UP_COLOUR, gmv.DOWN_COLOUR]
    assert [bar["label"]["formatter"] for bar in bars_shown[1:3]] == ["+20", "-20"]
    _headers, rows = table_of(gmv, result, "en", NAMES)
    assert rows[1][0].shown() == "山茶·坡子街店" and rows[1][0].hover == "cs-pozi"


def test_many_or_long_categories_lie_along_the_side():
    assert bars(["a", "b", "c"], [("n", [1, 2, 3])])["xAxis"]["type"] == "category"
    many = bars([f"guide {n}" for n in range(12)], [("n", list(range(12)))])
    assert many["yAxis"]["type"] == "category" and many["yAxis"]["axisLabel"]["interval"] == 0


def test_a_funnel_nobody_finished_has_no_time_to_convert_chart_but_says_why(rows, report):
    rows.customer(1)
    rows.event(1, "Product Viewed", datetime(2026, 11, 9, 10, tzinfo=SHANGHAI))
    steps = [{"events": ["Product Viewed"]}, {"events": ["Order Completed"]}]
    result = report(funnels, period={"start": "2026-11-01", "end": "2026-11-30"}, steps=steps)

    charts = charts_of(funnels, result, "en")
    assert [chart["title"] for chart in charts] == ["Customers at each step"]
    assert "no time to convert" in funnels.notes(result, lambda text: text)[0]


def test_funnels_and_ltv_run_from_the_cli_with_no_options(rows, lake_root):
    rows.customer(1)
    rows.order(1, datetime.now(SHANGHAI), 8_800)
    write_lake(lake_root, rows)

    for name in ("funnels", "ltv"):
        out = CliRunner().invoke(app, ["report", name, "--json"])
        assert out.exit_code == 0, out.output
        assert json.loads(out.output)


def test_retention_by_touchpoint_names_each_cohort(rows, report):
    rows.touchpoint("ad-moments", "paid_ad", "paid")
    rows.customer(1, first_touchpoint="ad-moments")
    rows.order(1, datetime(2026, 11, 9, 12, tzinfo=SHANGHAI), 8_800)
    period = {"start": "2026-11-01", "end": "2026-11-30"}
    result = report(retention, period=period, cohort_by="touchpoint")

    _headers, [row] = table_of(retention, result, "zh-CN", NAMES)
    assert row[0].shown() == "朋友圈广告" and row[0].hover == "ad-moments"
    assert row[2].shown() == "100.0%"
    heat = charts_of(retention, result, "zh-CN", NAMES)[1]["option"]
    assert heat["yAxis"]["data"] == ["朋友圈广告"]
