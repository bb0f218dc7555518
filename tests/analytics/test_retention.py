"""Retention by the brand's days, weeks and months, first-time and recurring."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from siyu.analytics import retention
from siyu.core.settings import reset_settings
from tests.analytics.factories import SHANGHAI


def test_first_time_weekly_cohorts_count_who_bought_again(rows, report):
    for cid in (1, 2, 3):
        rows.customer(cid)
    rows.order(1, datetime(2026, 11, 2, 10, tzinfo=SHANGHAI), 100)  # Monday, week of Nov 2
    rows.order(1, datetime(2026, 11, 10, 10, tzinfo=SHANGHAI), 100)  # +1
    rows.order(2, datetime(2026, 11, 8, 23, tzinfo=SHANGHAI), 100)  # Sunday: still week of Nov 2
    rows.order(2, datetime(2026, 11, 20, 10, tzinfo=SHANGHAI), 100)  # +2
    rows.order(3, datetime(2026, 10, 1, 10, tzinfo=SHANGHAI), 100)  # first order before: no cohort
    rows.order(3, datetime(2026, 11, 3, 10, tzinfo=SHANGHAI), 100)

    result = report(
        retention, period={"start": date(2026, 11, 2), "end": date(2026, 11, 8)}, periods=2
    )

    (cohort,) = result.cohorts
    assert cohort.cohort == "2026-11-02"
    assert cohort.retained == [2, 1, 1]
    assert cohort.rates == pytest.approx([1, 0.5, 0.5])


def test_recurring_retention_starts_a_cohort_at_every_purchase(rows, report):
    rows.customer(1)
    for day in (2, 3, 5):
        rows.order(1, datetime(2026, 11, day, 10, tzinfo=SHANGHAI), 100)

    result = report(
        retention,
        period={"start": date(2026, 11, 2), "end": date(2026, 11, 5)},
        unit="day",
        mode="recurring",
        periods=2,
    )

    by_day = {c.cohort: c.retained for c in result.cohorts}
    assert by_day["2026-11-02"] == [1, 1, 0]
    assert by_day["2026-11-03"] == [1, 0, 1]
    assert by_day["2026-11-05"] == [1]  # the lake has nothing later


def test_cohorts_by_acquisition_touchpoint(rows, report):
    rows.customer(1, first_touchpoint="poster")
    rows.customer(2, first_touchpoint="ad")
    rows.order(1, datetime(2026, 11, 2, tzinfo=SHANGHAI), 100)
    rows.order(1, datetime(2026, 12, 2, tzinfo=SHANGHAI), 100)
    rows.order(2, datetime(2026, 11, 3, tzinfo=SHANGHAI), 100)

    result = report(
        retention,
        period={"start": date(2026, 11, 1), "end": date(2026, 11, 30)},
        unit="month",
        cohort_by="touchpoint",
        periods=1,
    )

    assert {c.cohort: c.retained for c in result.cohorts} == {"ad": [1, 0], "poster": [1, 1]}


def test_days_are_the_brands_days_at_utc_plus_8(rows, report):
    rows.customer(1)
    # 16:30 UTC on Nov 1 is 00:30 on Nov 2 in Shanghai: the order is on the 2nd.
    rows.order(1, datetime(2026, 11, 1, 16, 30, tzinfo=UTC), 100)
    rows.order(1, datetime(2026, 11, 2, 15, 59, tzinfo=UTC), 100)  # 23:59 on the 2nd
    rows.order(1, datetime(2026, 11, 2, 16, 0, tzinfo=UTC), 100)  # 00:00 on the 3rd

    result = report(
        retention, period={"start": date(2026, 11, 2), "end": date(2026, 11, 2)}, unit="day"
    )

    assert [(c.cohort, c.retained) for c in result.cohorts] == [("2026-11-02", [1, 1])]


def test_days_follow_daylight_saving(rows, report, monkeypatch):
    monkeypatch.setenv("SIYU_TIMEZONE", "America/New_York")
    reset_settings()
    york = ZoneInfo("America/New_York")
    rows.customer(1)
    rows.customer(2)
    # Clocks go back on Nov 1, 2026 (UTC−4 → UTC−5): 04:30 UTC is still Oct 31 (00:30 EDT is
    # 04:30 UTC on Nov 1, so 03:59 UTC is Oct 31 23:59); 05:00 UTC on Nov 2 is Nov 2 00:00 EST.
    rows.order(1, datetime(2026, 11, 1, 3, 59, tzinfo=UTC), 100)
    rows.order(1, datetime(2026, 11, 1, 4, 0, tzinfo=UTC), 100)
    rows.order(2, datetime(2026, 11, 2, 4, 59, tzinfo=UTC), 100)  # Nov 1, 23:59 EST
    rows.order(2, datetime(2026, 11, 2, 5, 0, tzinfo=UTC), 100)  # Nov 2, 00:00 EST
    assert datetime(2026, 11, 2, 5, tzinfo=UTC).astimezone(york).hour == 0

    result = report(
        retention,
        period={"start": date(2026, 10, 31), "end": date(2026, 11, 1)},
        unit="day",
        periods=1,
    )

    assert {c.cohort: c.retained for c in result.cohorts} == {
        "2026-10-31": [1, 1],
        "2026-11-01": [1, 1],
    }
