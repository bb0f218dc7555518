"""Customer lifetime value (LTV / CLV): historical per customer and cohort, and predicted with
BG/NBD and Gamma-Gamma (see clv.py), checked against a holdout period.

The literature's conventions: orders on the same day (the brand's) are one purchase, worth their
sum; a customer's first purchase starts their clock; x is their repeat purchases up to the
calibration end, t_x the whole days from the first purchase to the last, T the whole days from
the first purchase to the calibration end, both divided by the period's days (7 for weeks, as in
Fader, Hardie & Lee). Gamma-Gamma is fitted on the mean value (yuan) of the repeat purchases of
customers with at least one. Predicted value over the horizon = expected purchases × expected
purchase value, undiscounted. A fit that is not a proper maximum is shown with its reason and not
used, and what the data cannot support (too few repeat buyers, a holdout far from the prediction)
is said in words: the result's `notes`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
from pydantic import BaseModel, Field, model_validator

from siyu.analytics import clv
from siyu.analytics.base import ReportQuery, counted_orders, in_view
from siyu.analytics.clv import fit_bgnbd, fit_gamma_gamma
from siyu.analytics.present import bars, lines, rate, yuan
from siyu.analytics.runner import Context
from siyu.analytics.zones import bucket, bucket_of, bucket_start, local_day
from siyu.core.i18n import N_
from siyu.core.lake_tables import Tables
from siyu.core.limits import Day

KIND = "ltv"
ROW_LIMIT = 5_000_000  # one summary row per customer: the model needs every buyer
PERIOD_DAYS = {"day": 1.0, "week": 7.0, "month": 365.25 / 12}
TOP = 100
FREQUENCIES = 8  # the holdout check groups customers by repeat purchases 0 … 7+
MIN_REPEAT_BUYERS = 20  # fewer, and four parameters are fitted to noise
HOLDOUT_TOLERANCE = 0.2  # a holdout further off than this (and than chance) is reported


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
    r: float | None
    alpha: float | None
    a: float | None
    b: float | None
    log_likelihood: float | None
    problem: str | None = Field(None, description="why the fit is not used (None: it is)")


class GammaGammaParams(BaseModel):
    p: float | None
    q: float | None
    gamma: float | None
    log_likelihood: float | None
    problem: str | None = Field(None, description="why the fit is not used (None: it is)")


class Note(BaseModel):
    """What a reader must know before trusting the prediction: a code, its numbers, and the
    message in English (the console and the CLI say it in the reader's language)."""

    code: str
    values: dict[str, str]
    message: str


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
    p_alive: float | None  # None: no model is used
    expected_purchases: float | None
    expected_value_fen: int | None


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
    expected_purchases: float | None  # None: BG/NBD could not be used
    expected_value_fen: int | None  # None: BG/NBD or Gamma-Gamma could not be used
    historical_fen: int
    holdout: Holdout | None
    top_customers: list[CustomerValue]
    cohorts: list[Cohort]
    notes: list[Note] = []


def build(query: Query, tables: Tables, context: Context) -> dict[str, ir.Table]:
    crowd = in_view(tables, query.filters, query.calibration_end)
    orders = counted_orders(tables).join(crowd, "customer_id")
    orders = orders.mutate(day=local_day(orders.paid_at, context.zone))
    end_day = bucket_of(query.calibration_end, "day")
    last_day = bucket_of(query.holdout_end, "day") if query.holdout_end else end_day
    days = orders.filter(orders.day <= last_day)
    days = days.group_by("customer_id", "day").aggregate(value_fen=days.net_fen.sum())
    # One pass over a customer's purchase days: the calibration's summary and the holdout's count.
    before = days.day <= end_day
    summary = days.group_by("customer_id").aggregate(
        first_day=days.day.min(),
        last_day=days.day.max(where=before),
        purchases=days.count(where=before),
        total_fen=days.value_fen.sum(where=before),
        first_fen=days.value_fen.argmin(days.day),
        holdout=days.count(where=~before),
    )
    summary = summary.filter(summary.purchases > 0)
    return {"summary": summary, "cohorts": _cohorts(orders, context, end_day)}


def _cohorts(orders: ir.Table, context: Context, end_day: int) -> ir.Table:
    """Net fen per first-purchase month and months since, up to the calibration end."""
    kept = orders.filter(orders.day <= end_day)
    kept = kept.mutate(month=bucket(kept.paid_at, context.zone, "month"))
    months = kept.group_by("customer_id", "month").aggregate(value_fen=kept.net_fen.sum())
    months = months.mutate(cohort=months.month.min().over(group_by=months.customer_id))
    return months.group_by("cohort", offset=months.month - months.cohort).aggregate(
        value_fen=months.value_fen.sum(), customers=months.count()
    )


@dataclass
class _Buyers:
    """The customers who bought by the calibration end, as the models see them (arrays)."""

    ids: np.ndarray
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    total_fen: np.ndarray
    repeat_mean_fen: np.ndarray  # the mean value of the repeat purchases (0 without one)
    holdout: np.ndarray  # purchases after the calibration end, to the holdout's end

    @classmethod
    def of(cls, summary: pa.Table, query: Query) -> _Buyers:
        s = {name: np.array(values, dtype=float) for name, values in summary.to_pydict().items()}
        width = PERIOD_DAYS[query.period]
        x = s["purchases"] - 1
        repeat_fen = s["total_fen"] - s["first_fen"]
        return cls(
            ids=s["customer_id"].astype(np.int64),
            x=x,
            t_x=(s["last_day"] - s["first_day"]) / width,
            T=(bucket_of(query.calibration_end, "day") - s["first_day"]) / width,
            total_fen=s["total_fen"],
            repeat_mean_fen=np.where(x > 0, repeat_fen / np.maximum(x, 1), 0),
            holdout=s["holdout"],
        )


@dataclass
class _Prediction:
    """What the models say, and what the reader must know: None where a model is not used."""

    bg: clv.BgNbd | None = None
    gg: clv.GammaGamma | None = None
    alive: np.ndarray | None = None
    purchases: np.ndarray | None = None
    value_fen: np.ndarray | None = None
    notes: list[Note] = field(default_factory=list)


def _predict(b: _Buyers, horizon: int) -> _Prediction:
    found = _Prediction()
    repeat_buyers = int((b.x > 0).sum())
    if repeat_buyers < MIN_REPEAT_BUYERS:
        found.notes.append(
            _note(
                "few_repeat_buyers",
                repeat_buyers=repeat_buyers,
                customers=len(b.ids),
                needed=MIN_REPEAT_BUYERS,
            )
        )
        return found
    found.bg = fit_bgnbd(b.x, b.t_x, b.T)
    found.gg = fit_gamma_gamma(b.x, b.repeat_mean_fen / 100)
    if found.bg.problem:
        found.notes.append(_note("bgnbd_not_used", problem=found.bg.problem))
    else:
        found.alive = found.bg.p_alive(b.x, b.t_x, b.T)
        found.purchases = found.bg.expected_purchases(float(horizon), b.x, b.t_x, b.T)
    if found.gg.problem:
        found.notes.append(_note("gamma_gamma_not_used", problem=found.gg.problem))
    elif found.purchases is not None:
        per_purchase = found.gg.expected_value(b.x, b.repeat_mean_fen / 100) * 100
        found.value_fen = found.purchases * per_purchase
    return found


def shape(frames: dict[str, pa.Table], query: Query, context: Context) -> Result:
    b = _Buyers.of(frames["summary"], query)
    found = _predict(b, query.horizon)
    holdout = None
    if query.holdout_end and found.bg and not found.bg.problem:
        holdout = _holdout(found.bg, query, query.holdout_end, b.x, b.t_x, b.T, b.holdout)
        if _is_far(holdout.predicted_purchases, holdout.actual_purchases):
            predicted = round(holdout.predicted_purchases)
            found.notes.append(
                _note("holdout_far", predicted=predicted, actual=holdout.actual_purchases)
            )
    return Result(
        period=query.period,
        calibration_end=query.calibration_end,
        holdout_end=query.holdout_end,
        horizon=query.horizon,
        customers=len(b.ids),
        bgnbd=BgNbdParams(**_finite(found.bg.__dict__)) if found.bg else None,
        gamma_gamma=GammaGammaParams(**_finite(found.gg.__dict__)) if found.gg else None,
        expected_purchases=_total(found.purchases),
        expected_value_fen=None if found.value_fen is None else round(found.value_fen.sum()),
        historical_fen=int(b.total_fen.sum()),
        holdout=holdout,
        top_customers=_top(b, found),
        cohorts=_cohort_rows(frames["cohorts"].to_pylist(), query.calibration_end),
        notes=found.notes,
    )


def _top(b: _Buyers, found: _Prediction) -> list[CustomerValue]:
    """The TOP customers by predicted value, else expected purchases, else value to date."""
    rank = next(v for v in (found.value_fen, found.purchases, b.total_fen) if v is not None)
    return [
        CustomerValue(
            customer_id=int(b.ids[i]),
            x=int(b.x[i]),
            t_x=float(b.t_x[i]),
            T=float(b.T[i]),
            historical_fen=int(b.total_fen[i]),
            p_alive=_at(found.alive, i),
            expected_purchases=_at(found.purchases, i),
            expected_value_fen=None if found.value_fen is None else round(found.value_fen[i]),
        )
        for i in np.lexsort((b.ids, -rank))[:TOP]  # ties by id: the same on every engine
    ]


def _at(values: np.ndarray | None, i: int) -> float | None:
    return None if values is None else float(values[i])


def _total(values: np.ndarray | None) -> float | None:
    return None if values is None else float(values.sum())


def _finite(fields: dict) -> dict:
    return {
        k: None if isinstance(v, float) and not np.isfinite(v) else v for k, v in fields.items()
    }


def _is_far(predicted: float, actual: int) -> bool:
    """Further off than HOLDOUT_TOLERANCE, and than two Poisson deviations (chance)."""
    return abs(predicted - actual) > max(HOLDOUT_TOLERANCE * predicted, 2 * np.sqrt(predicted))


def _holdout(bg, query: Query, end: date, x, t_x, T, actual) -> Holdout:
    periods = (end - query.calibration_end).days / PERIOD_DAYS[query.period]
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


NOTES = {
    "few_repeat_buyers": N_(
        "Only %(repeat_buyers)s of %(customers)s customers bought again by the calibration end; "
        "the models need at least %(needed)s, so no purchases or value are predicted."
    ),
    "bgnbd_not_used": N_(
        "The BG/NBD fit is not a proper maximum (%(problem)s), so no purchases or value are "
        "predicted."
    ),
    "gamma_gamma_not_used": N_(
        "The Gamma-Gamma fit is not a proper maximum (%(problem)s), so purchases are predicted "
        "but not their value."
    ),
    "holdout_far": N_(
        "Over the holdout the model predicted %(predicted)s purchases and %(actual)s were made: "
        "its predictions do not hold for these customers."
    ),
}
PROBLEMS = {
    clv.TOO_FEW: N_("too few customers with a repeat purchase and a positive value"),
    clv.NOT_FINITE: N_("its likelihood is not a finite number"),
    clv.AT_A_BOUND: N_("a parameter ran to the edge of its range"),
    clv.POSITIVE_LOG_LIKELIHOOD: N_("its log-likelihood is above zero"),
    clv.NO_FINITE_MEAN: N_("q ≤ 1, so the mean purchase value would be infinite"),
}


def _note(code: str, **values) -> Note:
    shown = {k: f"{v:,}" if isinstance(v, int) else str(v) for k, v in values.items()}
    return Note(code=code, values=shown, message=said(code, shown, lambda text: text))


def said(code: str, values: dict[str, str], _) -> str:
    """A note in the reader's language (`_` is their gettext)."""
    if "problem" in values:
        values = {**values, "problem": _(PROBLEMS[values["problem"]])}
    return _(NOTES[code]) % values


def notes(result: Result, _) -> list[str]:
    """What the reader must know before trusting the prediction, in their language."""
    return [said(note.code, note.values, _) for note in result.notes]


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
    """The fitted models and totals, shown above the charts (the notes say what not to trust)."""
    found = [(_("Customers"), f"{result.customers:,}")]
    if result.bgnbd:
        bg = result.bgnbd
        shown = " ".join(
            f"{name}={_number(value, 3)}"
            for name, value in (("r", bg.r), ("α", bg.alpha), ("a", bg.a), ("b", bg.b))
        )
        found.append((_("BG/NBD"), f"{shown} LL={_number(bg.log_likelihood, 1)}{_unused(bg, _)}"))
    if result.gamma_gamma:
        gg = result.gamma_gamma
        shown = " ".join(
            f"{name}={_number(value, 2)}"
            for name, value in (("p", gg.p), ("q", gg.q), ("γ", gg.gamma))
        )
        found.append((_("Gamma-Gamma"), f"{shown}{_unused(gg, _)}"))
    if result.expected_purchases is not None:
        found.append((_("Expected purchases"), f"{result.expected_purchases:,.0f}"))
    if result.expected_value_fen is not None:
        found.append((_("Predicted value (yuan)"), yuan(result.expected_value_fen)))
    if result.holdout:
        found.append(
            (
                _("Holdout: predicted / actual purchases"),
                f"{result.holdout.predicted_purchases:,.0f} / {result.holdout.actual_purchases:,}",
            )
        )
    return found


def _number(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _unused(fit: BgNbdParams | GammaGammaParams, _) -> str:
    return f" ({_('not used')})" if fit.problem else ""


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
            rate(c.p_alive, 3),
            "" if c.expected_purchases is None else f"{c.expected_purchases:.2f}",
            yuan(c.historical_fen),
            "" if c.expected_value_fen is None else yuan(c.expected_value_fen),
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
