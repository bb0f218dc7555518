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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from siyu.analytics import ltv
from siyu.analytics.clv import (
    bgnbd_log_likelihood,
    fit_bgnbd,
    fit_gamma_gamma,
    gamma_gamma_log_likelihood,
)
from siyu.cli import app
from tests.analytics.factories import SHANGHAI, write_lake

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


def test_a_fit_reports_the_likelihood_of_its_own_parameters_and_no_nearby_one_beats_it():
    # The fits work on rescaled time and money and scale back: what they report must be the
    # log-likelihood of the returned parameters on the data as given, and a maximum of it.
    with cdnow("cdnow_customers_summary_with_transactions.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    x, t_x, T, zbar = (np.array([float(r[k]) for r in rows]) for k in ("x", "t_x", "T", "zbar"))
    bg, gg = fit_bgnbd(x, t_x, T), fit_gamma_gamma(x, zbar)
    repeat = (x > 0) & (zbar > 0)
    fits = (
        (bg, ("r", "alpha", "a", "b"), lambda params: bgnbd_log_likelihood(params, x, t_x, T)),
        (
            gg,
            ("p", "q", "gamma"),
            lambda params: gamma_gamma_log_likelihood(params, x[repeat], zbar[repeat]),
        ),
    )
    for fit, names, likelihood in fits:
        params = np.array([getattr(fit, name) for name in names])
        assert likelihood(params) == pytest.approx(fit.log_likelihood, abs=1e-6)
        for i in range(len(params)):
            for factor in (0.99, 1.01):
                nudged = params.copy()
                nudged[i] *= factor
                assert likelihood(nudged) < fit.log_likelihood, (names[i], factor)


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
    assert by_id[4].x == 0 and by_id[4].historical_fen == 1_000
    # Three repeat buyers cannot carry a model: nothing is predicted, and the report says why.
    assert result.bgnbd is None and result.expected_value_fen is None
    assert by_id[4].p_alive is None
    (note,) = result.notes
    assert note.code == "few_repeat_buyers"
    assert note.message.startswith("Only 3 of 4 customers bought again by the calibration end")


def regular_buyers(n: int, seed: int = 7):
    """n customers who buy at their own Poisson rate for 52 weeks and never drop out."""
    rng = np.random.default_rng(seed)
    x, t_x = [], []
    for rate in rng.gamma(2.0, 1 / 10, n):
        times = np.cumsum(rng.exponential(1 / rate, 400))
        times = times[times <= 52]
        x.append(len(times))
        t_x.append(times[-1] if len(times) else 0.0)
    return np.array(x, dtype=float), np.array(t_x), np.full(n, 52.0)


def test_a_bgnbd_fit_that_runs_to_a_bound_is_flagged_not_a_maximum():
    # Nobody drops out: the likelihood keeps rising as b grows without end.
    bg = fit_bgnbd(*regular_buyers(2_000))

    assert bg.problem == "at_bound"


def test_a_gamma_gamma_fit_with_q_at_most_one_is_flagged():
    # Spend rates ν ~ Gamma(0.7, 1): the population's mean value p·γ/(q − 1) does not exist.
    rng = np.random.default_rng(11)
    rates, x = rng.gamma(0.7, 1.0, 2_000), rng.integers(1, 6, 2_000)
    means = np.array([rng.gamma(5.0, 1 / rate, k).mean() for rate, k in zip(rates, x, strict=True)])

    gg = fit_gamma_gamma(x, np.round(means, 2))

    assert gg.problem == "q_not_above_one" and gg.q < 1


def test_a_gamma_gamma_fit_finer_than_the_money_is_flagged():
    # CDNOW's mean values known only to the thousand dollars: the fitted density would give such a
    # step more than certainty, a log-likelihood above zero once counted in steps.
    with cdnow("cdnow_customers_summary_with_transactions.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    x, zbar = (np.array([float(r[k]) for r in rows]) for k in ("x", "zbar"))

    assert fit_gamma_gamma(x, zbar, resolution=0.01).problem is None
    assert fit_gamma_gamma(x, zbar, resolution=1_000.0).problem == "positive_log_likelihood"


def test_a_model_the_data_cannot_carry_is_said_in_words(rows, report):
    x, t_x, _ = regular_buyers(300)
    rng = np.random.default_rng(3)
    start = datetime(2025, 1, 6, 10, tzinfo=SHANGHAI)
    for cid, (count, last) in enumerate(zip(x, t_x, strict=True), start=1):
        rows.customer(cid)
        spend = rng.gamma(4.0, 15.0)  # yuan per purchase on average, per customer (Gamma-Gamma)
        for week in np.linspace(0, last, int(count) + 1):
            paid = start + timedelta(weeks=float(week))
            rows.order(cid, paid, round(rng.gamma(6.0, spend / 6.0) * 100))

    result = report(ltv, calibration_end=date(2026, 1, 5), period="week")

    assert result.bgnbd.problem == "at_bound"
    assert result.expected_purchases is None and result.expected_value_fen is None
    assert [n.code for n in result.notes] == ["bgnbd_not_used"]
    assert result.notes[0].message == (
        "The BG/NBD fit is not a proper maximum (a parameter ran to the edge of its range), "
        "so no purchases or value are predicted."
    )
    assert all(c.p_alive is None for c in result.top_customers)


def test_the_notes_reach_the_api_the_console_in_both_languages_and_the_cli(
    rows, lake_root, client, admin_token, signed_in
):
    for cid in range(1, 6):
        rows.customer(cid)
        rows.order(cid, datetime(2026, 1, 5, 10, tzinfo=SHANGHAI), 1_000)
    for cid in (1, 2):
        rows.order(cid, datetime(2026, 2, 5, 10, tzinfo=SHANGHAI), 1_000)
    write_lake(lake_root, rows)
    english = "Only 2 of 5 customers bought again by the calibration end"

    answer = client.post(
        "/api/reports/ltv",
        json={"calibration_end": "2026-03-31"},
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert answer.status_code == 200, answer.text
    (note,) = answer.json()["notes"]
    assert note["code"] == "few_repeat_buyers" and note["message"].startswith(english)

    browser = signed_in("analyst")
    page = browser.get("/reports/ltv?calibration_end=2026-03-31")
    assert "训练截止日前 5 位客户中只有 2 位复购" in page.text
    browser.cookies.set("siyu_locale", "en")
    assert english in browser.get("/reports/ltv?calibration_end=2026-03-31").text

    out = CliRunner().invoke(app, ["report", "ltv", "--calibration-end", "2026-03-31"])
    assert out.exit_code == 0, out.output
    assert english in " ".join(out.output.split())
