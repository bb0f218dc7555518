"""LTV: BG/NBD and Gamma-Gamma reproduce the published CDNOW fits, from the summary and from the
raw transactions through the lake; the holdout and cohorts add up.

The CDNOW sample (2,357 customers, Fader & Hardie) ships with the `lifetimes` package, a dev
dependency read here as data only. Published: BG/NBD r = 0.243, α = 4.414, a = 0.793, b = 2.426,
log-likelihood −9582.4 (Fader, Hardie & Lee 2005); Gamma-Gamma p = 6.25, q = 3.74, γ = 15.44
(Fader & Hardie, "The Gamma-Gamma model of monetary value", 2013).
"""

from __future__ import annotations

import csv
import importlib.util
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from siyu.analytics import ltv
from siyu.analytics.clv import fit_bgnbd, fit_gamma_gamma
from tests.analytics.factories import SHANGHAI

BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def cdnow(name: str) -> Path:
    spec = importlib.util.find_spec("lifetimes")
    assert spec is not None, "install the dev dependencies: the CDNOW data ships with lifetimes"
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / name


def test_the_models_reproduce_the_published_cdnow_fit():
    with cdnow("cdnow_customers_summary_with_transactions.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    x, t_x, T, zbar = (np.array([float(r[k]) for r in rows]) for k in ("x", "t_x", "T", "zbar"))

    bg = fit_bgnbd(x, t_x, T)
    gg = fit_gamma_gamma(x, zbar)

    assert {k: round(getattr(bg, k), 3) for k in BGNBD} == BGNBD
    assert bg.log_likelihood == pytest.approx(-9582.4, abs=0.1)
    assert {k: round(getattr(gg, k), 2) for k in GAMMA_GAMMA} == pytest.approx(
        GAMMA_GAMMA, abs=0.011
    )
    # A customer just arrived (x = t_x = T = 0) is alive, and the more recent of two customers
    # with the same x is worth more.
    assert float(bg.p_alive(0, 0, 0)) == 1.0
    assert bg.expected_purchases(39, 2, 30, 38) > bg.expected_purchases(39, 2, 10, 38)


def test_the_report_fits_cdnow_from_raw_orders_in_weeks(rows, report, monkeypatch):
    monkeypatch.setenv("SIYU_TIMEZONE", "UTC")
    from siyu.core.settings import reset_settings

    reset_settings()
    seen, later_days = set(), set()
    for line in cdnow("CDNOW_sample.txt").read_text().splitlines():
        customer, _, day, _, amount = line.split()
        cid = int(customer)
        if cid not in seen:
            rows.customer(cid)
            seen.add(cid)
        paid = datetime.strptime(day, "%Y%m%d").replace(hour=12, tzinfo=UTC)
        rows.order(cid, paid, round(float(amount) * 100))
        if date(1997, 9, 30) < paid.date() <= date(1998, 6, 30):
            later_days.add((cid, paid.date()))

    result = report(
        ltv, calibration_end=date(1997, 9, 30), holdout_end=date(1998, 6, 30), period="week"
    )

    assert result.customers == 2357
    assert {k: round(getattr(result.bgnbd, k), 3) for k in BGNBD} == BGNBD
    assert result.holdout.actual_purchases == len(later_days)  # purchase days, weeks 40–78
    # The paper's own check: the holdout's repeat purchases predicted within about 10%.
    assert result.holdout.predicted_purchases == pytest.approx(len(later_days), rel=0.15)


def test_same_day_orders_are_one_purchase_and_cohorts_add_up(rows, report):
    for cid in (1, 2, 3, 4):
        rows.customer(cid)
        rows.order(cid, datetime(2026, 1, 5, 10, tzinfo=SHANGHAI), 1_000)
    rows.order(1, datetime(2026, 1, 5, 18, tzinfo=SHANGHAI), 500)  # the same day: one purchase
    rows.order(1, datetime(2026, 2, 5, 10, tzinfo=SHANGHAI), 2_000)
    rows.order(2, datetime(2026, 3, 1, 10, tzinfo=SHANGHAI), 3_000)
    rows.order(3, datetime(2026, 3, 2, 10, tzinfo=SHANGHAI), 1_000)

    result = report(ltv, calibration_end=date(2026, 3, 31), period="week")

    assert result.historical_fen == 4 * 1_000 + 500 + 2_000 + 3_000 + 1_000
    (cohort,) = result.cohorts
    assert cohort.cohort == "2026-01" and cohort.customers == 4
    assert cohort.cumulative_fen == [1_125, 1_625, 2_625]
    by_id = {c.customer_id: c for c in result.top_customers}
    assert by_id[1].x == 1 and by_id[1].historical_fen == 3_500
    assert by_id[4].x == 0 and by_id[4].p_alive == 1.0
