"""LTV against an independent implementation: the `lifetimes` package (a dev dependency, used
here only, never at run time) fits BG/NBD and Gamma-Gamma its own way — unbounded BFGS with
autograd gradients, its own summary of the raw transactions. Parameters and predictions must agree
within 1 %, on the CDNOW sample it ships and on the demo brand's orders for seeds 1–3 at two
calibration ends.
"""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from siyu.analytics import ltv
from siyu.analytics.clv import fit_bgnbd, fit_gamma_gamma
from siyu.demo.stream import Plan, generate
from tests.analytics.test_ltv import cdnow

lifetimes = pytest.importorskip("lifetimes")

TOLERANCE = 0.01
SHANGHAI = ZoneInfo("Asia/Shanghai")
DEMO_END = date(2026, 11, 30)
DEMO_CUSTOMERS = 5_000  # a quarter of `siyu demo`'s default, so three seeds take seconds
CALIBRATION_ENDS = (date(2026, 6, 30), date(2026, 9, 30))
HORIZON = 52


def oracle(frequency, recency, T, monetary):
    """lifetimes' BG/NBD and Gamma-Gamma (the latter on repeat buyers with a positive value)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its own deprecation warnings under new pandas
        bg = lifetimes.BetaGeoFitter().fit(frequency, recency, T)
        repeat = (frequency > 0) & (monetary > 0)
        gg = lifetimes.GammaGammaFitter().fit(frequency[repeat], monetary[repeat])
    return bg, gg


def test_the_fits_match_lifetimes_on_the_cdnow_summary():
    data = pd.read_csv(cdnow("cdnow_customers_summary_with_transactions.csv"))
    x, t_x, T, m = (data[k].to_numpy(float) for k in ("x", "t_x", "T", "zbar"))
    their_bg, their_gg = oracle(data["x"], data["t_x"], data["T"], data["zbar"])

    bg, gg = fit_bgnbd(x, t_x, T), fit_gamma_gamma(x, m)

    assert bg.problem is None and gg.problem is None
    assert _params(bg, "r alpha a b") == pytest.approx(_theirs(their_bg), rel=TOLERANCE)
    assert _params(gg, "p q gamma") == pytest.approx(_theirs(their_gg), rel=TOLERANCE)
    their_purchases = their_bg.conditional_expected_number_of_purchases_up_to_time(39, x, t_x, T)
    assert bg.expected_purchases(39, x, t_x, T) == pytest.approx(their_purchases, rel=TOLERANCE)
    assert bg.p_alive(x, t_x, T) == pytest.approx(
        their_bg.conditional_probability_alive(x, t_x, T), rel=TOLERANCE
    )
    repeat = x > 0
    their_value = their_gg.conditional_expected_average_profit(data["x"], data["zbar"])
    assert gg.expected_value(x, m)[repeat] == pytest.approx(
        their_value.to_numpy()[repeat], rel=TOLERANCE
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_report_matches_lifetimes_on_the_demo_brand(seed, rows, report):
    orders = demo_orders(seed)
    for customer_id, group in orders.groupby("customer_id"):
        rows.customer(int(customer_id), first_seen_at=group["paid_at"].min())
    for order in orders.itertuples():
        rows.order(order.customer_id, order.paid_at, order.amount_fen)

    for end in CALIBRATION_ENDS:
        result = report(ltv, calibration_end=end, holdout_end=DEMO_END, horizon=HORIZON)
        summary = their_summary(orders, end)
        their_bg, their_gg = oracle(*(summary[k] for k in ("frequency", "recency", "T", "money")))

        assert result.customers == len(summary)
        assert result.bgnbd.problem is None and result.gamma_gamma.problem is None
        assert _params(result.bgnbd, "r alpha a b") == pytest.approx(
            _theirs(their_bg), rel=TOLERANCE
        )
        assert _params(result.gamma_gamma, "p q gamma") == pytest.approx(
            _theirs(their_gg), rel=TOLERANCE
        )
        f, r, T = (summary[k] for k in ("frequency", "recency", "T"))
        purchases = their_bg.conditional_expected_number_of_purchases_up_to_time(HORIZON, f, r, T)
        value = purchases * their_gg.conditional_expected_average_profit(f, summary["money"])
        assert result.expected_purchases == pytest.approx(purchases.sum(), rel=TOLERANCE)
        assert result.expected_value_fen / 100 == pytest.approx(value.sum(), rel=TOLERANCE)
        weeks = (DEMO_END - end).days / 7
        holdout = their_bg.conditional_expected_number_of_purchases_up_to_time(weeks, f, r, T)
        assert result.holdout.predicted_purchases == pytest.approx(holdout.sum(), rel=TOLERANCE)
        assert result.holdout.actual_purchases == holdout_days(orders, end)
        for customer in result.top_customers[:20]:  # the most valuable, one by one
            key = customer.customer_id
            assert customer.x == f[key]
            assert customer.expected_purchases == pytest.approx(purchases[key], rel=TOLERANCE)
            assert customer.expected_value_fen / 100 == pytest.approx(value[key], rel=TOLERANCE)
            assert customer.p_alive == pytest.approx(
                their_bg.conditional_probability_alive(f[key], r[key], T[key]), rel=TOLERANCE
            )


def demo_orders(seed: int) -> pd.DataFrame:
    """The demo brand's completed orders (customer, paid at, fen), straight from its stream."""
    plan = Plan(end_date=DEMO_END, customers=DEMO_CUSTOMERS, days=365, seed=seed, zone=SHANGHAI)
    found = [
        (
            int(m["userId"].lstrip("u")),
            datetime.fromisoformat(m["timestamp"]).astimezone(UTC),
            int(Decimal(m["properties"]["revenue"]) * 100),
        )
        for batch in generate(plan, datetime(2026, 12, 1, tzinfo=UTC))
        for m in batch.messages
        if m.get("event") == "Order Completed"
    ]
    return pd.DataFrame(found, columns=["customer_id", "paid_at", "amount_fen"])


def holdout_days(orders: pd.DataFrame, end: date) -> int:
    """Purchase days after `end` (to DEMO_END) of the customers who bought by `end`."""
    days = orders.assign(day=orders["paid_at"].map(lambda t: t.astimezone(SHANGHAI).date()))
    before = set(days.loc[days["day"] <= end, "customer_id"])
    later = days[(days["day"] > end) & days["customer_id"].isin(before)]
    return len(later[["customer_id", "day"]].drop_duplicates())


def their_summary(orders: pd.DataFrame, end: date) -> pd.DataFrame:
    """lifetimes' own summary of the transactions: purchase days in the brand's zone, recency
    and T in weeks, the mean value (yuan) of the repeat purchase days."""
    days = pd.DataFrame(
        {
            "customer_id": orders["customer_id"],
            "day": pd.to_datetime(
                orders["paid_at"].map(lambda moment: moment.astimezone(SHANGHAI).date())
            ),
            "yuan": orders["amount_fen"] / 100,
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = lifetimes.utils.summary_data_from_transaction_data(
            days,
            "customer_id",
            "day",
            monetary_value_col="yuan",
            observation_period_end=pd.Timestamp(end),
            freq="D",
        )
    return pd.DataFrame(
        {
            "frequency": summary["frequency"],
            "recency": summary["recency"] / 7,
            "T": summary["T"] / 7,
            "money": summary["monetary_value"],
        }
    )


def _params(fit, names: str) -> list[float]:
    return [getattr(fit, name) for name in names.split()]


def _theirs(fitter) -> list[float]:
    return list(fitter.params_.to_numpy())


def test_cdnow_raw_orders_through_the_report_match_lifetimes(rows, report, monkeypatch):
    monkeypatch.setenv("SIYU_TIMEZONE", "UTC")
    from siyu.core.settings import reset_settings

    reset_settings()
    found = []
    for line in cdnow("CDNOW_sample.txt").read_text().splitlines():
        customer, _, day, _, amount = line.split()
        paid = datetime.strptime(day, "%Y%m%d").replace(hour=12, tzinfo=UTC)
        found.append((int(customer), paid, round(float(amount) * 100)))
    orders = pd.DataFrame(found, columns=["customer_id", "paid_at", "amount_fen"])
    for customer_id in orders["customer_id"].unique():
        rows.customer(int(customer_id))
    for order in orders.itertuples():
        rows.order(order.customer_id, order.paid_at, order.amount_fen)

    result = report(ltv, calibration_end=date(1997, 9, 30), period="week", horizon=HORIZON)

    summary = their_summary(orders, date(1997, 9, 30))
    their_bg, their_gg = oracle(*(summary[k] for k in ("frequency", "recency", "T", "money")))
    assert _params(result.bgnbd, "r alpha a b") == pytest.approx(_theirs(their_bg), rel=TOLERANCE)
    assert _params(result.gamma_gamma, "p q gamma") == pytest.approx(
        _theirs(their_gg), rel=TOLERANCE
    )
    f, r, T = (summary[k] for k in ("frequency", "recency", "T"))
    purchases = their_bg.conditional_expected_number_of_purchases_up_to_time(HORIZON, f, r, T)
    value = purchases * their_gg.conditional_expected_average_profit(f, summary["money"])
    assert result.expected_purchases == pytest.approx(purchases.sum(), rel=TOLERANCE)
    assert result.expected_value_fen / 100 == pytest.approx(value.sum(), rel=TOLERANCE)
    assert np.isfinite(result.bgnbd.log_likelihood) and result.bgnbd.log_likelihood < 0
