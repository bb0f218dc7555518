"""Customer lifetime value (LTV / CLV): historical per customer and cohort, and predicted with
BG/NBD and Gamma-Gamma (see clv.py), checked against a holdout period.

The literature's conventions: orders on the same day (the brand's) are one purchase, worth their
sum; a customer's first purchase starts their clock; x is their repeat purchases up to the
calibration end, t_x the whole days from the first purchase to the last, T the whole days from
the first purchase to the calibration end, both divided by the period's days (7 for weeks, as in
Fader, Hardie & Lee). Gamma-Gamma is fitted on the mean value (yuan) of the repeat purchases of
customers with at least one. Predicted value over the horizon = expected purchases × expected
purchase value, undiscounted.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
from pydantic import BaseModel, Field, model_validator

from siyu.analytics.base import ReportQuery, counted_orders, people
from siyu.analytics.clv import fit_bgnbd, fit_gamma_gamma
from siyu.analytics.present import bars, lines, yuan
from siyu.analytics.runner import Context
from siyu.analytics.tables import Tables
from siyu.analytics.zones import bucket, bucket_of, bucket_start, local_day
from siyu.core.i18n import N_
from siyu.core.limits import Day

KIND = "ltv"
ROW_LIMIT = 5_000_000  # one summary row per customer: the model needs every buyer
PERIOD_DAYS = {"day": 1.0, "week": 7.0, "month": 365.25 / 12}
TOP = 100
FREQUENCIES = 8  # the holdout check groups customers by repeat purchases 0 … 7+


class Query(ReportQuery):
    calibration_end: Day
    holdout_end: Day | None = None
    period: Literal["day", "week", "month"] = "week"
    horizon: int = Field(52, ge=1, le=520, description="periods ahead to predict")

    @model_validator(mode="after")
    def _ordered(self) -> Query:
        if self.holdout_end and self.holdout_end <= self.calibration_end:
            raise ValueError("the holdout ends after the calibration end")
        return self


class BgNbdParams(BaseModel):
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float


class GammaGammaParams(BaseModel):
    p: float
    q: float
    gamma: float
    log_likelihood: float


class Holdout(BaseModel):
    periods: float
    customers: int
    predicted_purchases: float
    actual_purchases: int
    by_frequency: list[dict]  # {"x", "customers", "predicted", "actual"} per calibration x


class CustomerValue(BaseModel):
    customer_id: int
    x: int
    t_x: float
    T: float
    historical_fen: int
    p_alive: float
    expected_purchases: float
    expected_value_fen: int


class Cohort(BaseModel):
    cohort: str  # the month of the first purchase
    customers: int
    cumulative_fen: list[int]  # per customer, months 0, 1, … after the first


class Result(BaseModel):
    period: str
    calibration_end: date
    holdout_end: date | None
    horizon: int
    customers: int
    bgnbd: BgNbdParams | None
    gamma_gamma: GammaGammaParams | None
    expected_purchases: float
    expected_value_fen: int
    historical_fen: int
    holdout: Holdout | None
    top_customers: list[CustomerValue]
    cohorts: list[Cohort]


def build(query: Query, tables: Tables, context: Context) -> dict[str, ir.Table]:
    crowd = people(tables, query.filters, query.calibration_end).select("customer_id")
    orders = counted_orders(tables).join(crowd, "customer_id")
    orders = orders.mutate(day=local_day(orders.paid_at, context.zone))
    days = orders.group_by("customer_id", "day").aggregate(value_fen=orders.net_fen.sum())
    end_day = bucket_of(query.calibration_end, "day")
    calibration = days.filter(days.day <= end_day)
    calibration = calibration.mutate(
        first_day=calibration.day.min().over(group_by=calibration.customer_id)
    )
    summary = calibration.group_by("customer_id").aggregate(
        first_day=calibration.first_day.min(),
        last_day=calibration.day.max(),
        purchases=calibration.count(),
        total_fen=calibration.value_fen.sum(),
        first_fen=calibration.value_fen.sum(where=calibration.day == calibration.first_day),
    )
    if query.holdout_end:
        later = days.filter(days.day > end_day, days.day <= bucket_of(query.holdout_end, "day"))
        later = later.group_by(later_customer="customer_id").aggregate(holdout=later.count())
        summary = summary.left_join(later, summary.customer_id == later.later_customer)
        summary = summary.mutate(holdout=summary.holdout.fill_null(0)).drop("later_customer")
    else:
        summary = summary.mutate(holdout=ibis.literal(0))
    return {"summary": summary, "cohorts": _cohorts(orders, context, end_day)}


def _cohorts(orders: ir.Table, context: Context, end_day: int) -> ir.Table:
    """Net fen per first-purchase month and months since, up to the calibration end."""
    kept = orders.filter(orders.day <= end_day)
    kept = kept.mutate(month=bucket(kept.paid_at, context.zone, "month"))
    first = kept.group_by(first_customer="customer_id").aggregate(cohort=kept.month.min())
    joined = kept.join(first, kept.customer_id == first.first_customer)
    joined = joined.mutate(offset=joined.month - joined.cohort)
    return joined.group_by("cohort", "offset").aggregate(
        value_fen=joined.net_fen.sum(), customers=joined.customer_id.nunique()
    )


def shape(frames: dict[str, pa.Table], query: Query, context: Context) -> Result:
    s = frames["summary"].to_pydict()
    ids = np.array(s["customer_id"], dtype=np.int64)
    width = PERIOD_DAYS[query.period]
    end_day = bucket_of(query.calibration_end, "day")
    first = np.array(s["first_day"], dtype=float)
    x = np.array(s["purchases"], dtype=float) - 1
    t_x = (np.array(s["last_day"], dtype=float) - first) / width
    T = (end_day - first) / width
    total = np.array(s["total_fen"], dtype=float)
    repeat_mean = np.where(
        x > 0, (total - np.array(s["first_fen"], dtype=float)) / np.maximum(x, 1), 0
    )
    holdout = np.array(s["holdout"], dtype=float)
    cohorts = _cohort_rows(frames["cohorts"].to_pylist(), query.calibration_end)
    base = dict(
        period=query.period,
        calibration_end=query.calibration_end,
        holdout_end=query.holdout_end,
        horizon=query.horizon,
        customers=len(ids),
        historical_fen=int(total.sum()),
        cohorts=cohorts,
    )
    if len(ids) < 3 or not (x > 0).any():
        return Result(
            **base,
            bgnbd=None,
            gamma_gamma=None,
            expected_purchases=0.0,
            expected_value_fen=0,
            holdout=None,
            top_customers=[],
        )
    bg = fit_bgnbd(x, t_x, T)
    gg = fit_gamma_gamma(x, repeat_mean / 100) if (x > 0).sum() >= 3 else None
    alive = bg.p_alive(x, t_x, T)
    purchases = bg.expected_purchases(float(query.horizon), x, t_x, T)
    per_purchase = (
        gg.expected_value(x, repeat_mean / 100) * 100 if gg else np.full_like(x, total.mean())
    )
    value = purchases * per_purchase
    top = np.argsort(-value, kind="stable")[:TOP]
    return Result(
        **base,
        bgnbd=BgNbdParams(**bg.__dict__),
        gamma_gamma=GammaGammaParams(**gg.__dict__) if gg else None,
        expected_purchases=float(purchases.sum()),
        expected_value_fen=int(round(value.sum())),
        holdout=_holdout(bg, query, x, t_x, T, holdout) if query.holdout_end else None,
        top_customers=[
            CustomerValue(
                customer_id=int(ids[i]),
                x=int(x[i]),
                t_x=float(t_x[i]),
                T=float(T[i]),
                historical_fen=int(total[i]),
                p_alive=float(alive[i]),
                expected_purchases=float(purchases[i]),
                expected_value_fen=int(round(value[i])),
            )
            for i in top
        ],
    )


def _holdout(bg, query: Query, x, t_x, T, actual) -> Holdout:
    periods = (query.holdout_end - query.calibration_end).days / PERIOD_DAYS[query.period]
    predicted = bg.expected_purchases(periods, x, t_x, T)
    groups = []
    for k in range(FREQUENCIES):
        kept = x == k if k < FREQUENCIES - 1 else x >= k
        groups.append(
            {
                "x": k,
                "customers": int(kept.sum()),
                "predicted": float(predicted[kept].sum()),
                "actual": int(actual[kept].sum()),
            }
        )
    return Holdout(
        periods=periods,
        customers=len(x),
        predicted_purchases=float(predicted.sum()),
        actual_purchases=int(actual.sum()),
        by_frequency=groups,
    )


def _cohort_rows(rows: list[dict], end: date) -> list[Cohort]:
    found: dict[int, dict[int, tuple[int, int]]] = {}
    for row in rows:
        found.setdefault(row["cohort"], {})[row["offset"]] = (row["value_fen"], row["customers"])
    last = bucket_of(end, "month")
    cohorts = []
    for cohort in sorted(found):
        size = found[cohort].get(0, (0, 0))[1]
        running, cumulative = 0, []
        for offset in range(last - cohort + 1):
            running += found[cohort].get(offset, (0, 0))[0]
            cumulative.append(round(running / size) if size else 0)
        label = bucket_start(cohort, "month").isoformat()[:7]
        cohorts.append(Cohort(cohort=label, customers=size, cumulative_fen=cumulative))
    return cohorts


def summary(result: Result, _) -> list[tuple[str, str]]:
    """The fitted models and totals, shown above the charts."""
    found = [(_("Customers"), f"{result.customers:,}")]
    if result.bgnbd:
        bg = result.bgnbd
        found.append(
            (
                _("BG/NBD"),
                f"r={bg.r:.3f} α={bg.alpha:.3f} a={bg.a:.3f} b={bg.b:.3f} "
                f"LL={bg.log_likelihood:.1f}",
            )
        )
    if result.gamma_gamma:
        gg = result.gamma_gamma
        found.append((_("Gamma-Gamma"), f"p={gg.p:.2f} q={gg.q:.2f} γ={gg.gamma:.2f}"))
    found.append((_("Expected purchases"), f"{result.expected_purchases:,.0f}"))
    found.append((_("Predicted value (yuan)"), yuan(result.expected_value_fen)))
    if result.holdout:
        found.append(
            (
                _("Holdout: predicted / actual purchases"),
                f"{result.holdout.predicted_purchases:,.0f} / {result.holdout.actual_purchases:,}",
            )
        )
    return found


def table(result: Result, _) -> tuple[list[str], list[list]]:
    headers = [
        _("Customer"),
        _("Repeat purchases"),
        _("Probability alive"),
        _("Expected purchases"),
        _("Historical value (yuan)"),
        _("Predicted value (yuan)"),
    ]
    rows = [
        [
            c.customer_id,
            c.x,
            f"{c.p_alive:.3f}",
            f"{c.expected_purchases:.2f}",
            yuan(c.historical_fen),
            yuan(c.expected_value_fen),
        ]
        for c in result.top_customers
    ]
    return headers, rows


def charts(result: Result, _) -> list[dict]:
    found = []
    if result.holdout:
        groups = result.holdout.by_frequency
        names = [str(g["x"]) if g["x"] < FREQUENCIES - 1 else f"{g['x']}+" for g in groups]
        found.append(
            {
                "title": _("Holdout: predicted and actual purchases by repeat purchases"),
                "option": bars(
                    names,
                    [
                        (_("Predicted"), [round(g["predicted"], 1) for g in groups]),
                        (_("Actual"), [g["actual"] for g in groups]),
                    ],
                ),
            }
        )
    if result.cohorts:
        width = max(len(c.cumulative_fen) for c in result.cohorts)
        found.append(
            {
                "title": _("Cumulative value per customer by first-purchase month (yuan)"),
                "option": lines(
                    [f"+{k}" for k in range(width)],
                    [(c.cohort, [v / 100 for v in c.cumulative_fen]) for c in result.cohorts[-12:]],
                ),
            }
        )
    return found


FILTERS = ("touchpoint", "touchpoint_type", "store", "guide")
FIELDS = (
    {"name": "calibration_end", "label": N_("Calibration end"), "type": "date", "width": "10em"},
    {"name": "holdout_end", "label": N_("Holdout end"), "type": "date", "width": "10em"},
    {
        "name": "period",
        "label": N_("Period length"),
        "default": "week",
        "choices": [("day", N_("By day")), ("week", N_("By week")), ("month", N_("By month"))],
    },
    {
        "name": "horizon",
        "label": N_("Horizon (periods)"),
        "default": "52",
        "type": "number",
        "width": "5em",
    },
)


def form_query(params: dict[str, str], start, end) -> dict:
    query: dict = {"calibration_end": params.get("calibration_end") or start}
    if params.get("holdout_end"):
        query["holdout_end"] = params["holdout_end"]
    elif not params.get("calibration_end"):
        query["holdout_end"] = end  # the page's default: calibrate before the period, test on it
    if params.get("period") in PERIOD_DAYS:
        query["period"] = params["period"]
    if (params.get("horizon") or "").isdecimal():
        query["horizon"] = int(params["horizon"])
    return query
