"""Retention (留存): of the customers who bought in a day, week or month, how many bought again
k periods later; cohorted by the period of their first order or by their acquisition touchpoint.

first_time: each customer once, from the period of their first order ever (the cohort's start
must fall in the query's period). recurring: every period in which a customer bought starts a
cohort row of its own (so one customer counts in several cohorts). Days, weeks (from Monday) and
months are the brand's (SIYU_TIMEZONE).
"""

from __future__ import annotations

from typing import Literal

import ibis.expr.types as ir
import pyarrow as pa
from pydantic import BaseModel, Field

from siyu.analytics.base import (
    NO_TOUCHPOINT,
    ReportQuery,
    counted_orders,
    counted_rows,
    in_view,
    people,
)
from siyu.analytics.present import lines, named, plain, rate
from siyu.analytics.runner import Context
from siyu.analytics.zones import bucket, bucket_of, bucket_start
from siyu.core.i18n import N_
from siyu.core.lake_tables import Tables
from siyu.core.periods import Period

KIND = "retention"
Unit = Literal["day", "week", "month"]


class Query(ReportQuery):
    period: Period
    unit: Unit = "week"
    mode: Literal["first_time", "recurring"] = "first_time"
    cohort_by: Literal["first_order", "touchpoint"] = "first_order"
    periods: int = Field(8, ge=1, le=60, description="offsets after the cohort's own period")


class Cohort(BaseModel):
    cohort: str
    size: int
    retained: list[int]  # customers buying k periods later, k = 0 … periods
    rates: list[float]


class Result(BaseModel):
    unit: Unit
    mode: str
    cohort_by: str
    cohorts: list[Cohort]
    average: list[float]  # per offset: retained over the sizes of the cohorts that reached it


def build(query: Query, tables: Tables, context: Context) -> dict[str, ir.Table]:
    orders = counted_orders(tables)
    bought = orders.semi_join(in_view(tables, query.filters, query.period.end), "customer_id")
    active = bought.select("customer_id", b=bucket(bought.paid_at, context.zone, query.unit))
    active = active.distinct()
    first = bucket_of(query.period.start, query.unit)
    last = bucket_of(query.period.end, query.unit)
    if query.mode == "first_time":
        starts = active.group_by("customer_id").aggregate(start=active.b.min())
    else:
        starts = active.select("customer_id", start=active.b)
    starts = starts.filter(starts.start >= first, starts.start <= last)
    if query.cohort_by == "touchpoint":
        crowd = people(tables, query.filters, query.period.end).select("customer_id", "touchpoint")
        starts = starts.join(crowd, "customer_id")
    later = active.view().select(later_customer="customer_id", later="b")
    pairs = starts.join(
        later,
        [
            starts.customer_id == later.later_customer,
            later.later >= starts.start,
            later.later <= starts.start + query.periods,
        ],
    )
    key = pairs.touchpoint if query.cohort_by == "touchpoint" else pairs.start
    pairs = pairs.select(key=key, offset=pairs.later - pairs.start)
    counts = pairs.group_by("key", "offset").aggregate(customers=pairs.count())
    # The newest period a cohort can have reached: the lake's last order (no later data exists),
    # on every row of the same query.
    sold = counted_rows(tables)
    reach = sold.aggregate(last=bucket(sold.paid_at.max(), context.zone, query.unit))
    return {"counts": counts.cross_join(reach)}


def shape(frames: dict[str, pa.Table], query: Query, context: Context) -> Result:
    rows = frames["counts"].to_pylist()
    newest = rows[0]["last"] if rows else None
    counts: dict[str, dict[int, int]] = {}
    for row in rows:
        counts.setdefault(str(row["key"]), {})[row["offset"]] = row["customers"]
    cohorts = []
    for key in sorted(counts, key=lambda k: (len(k), k)):
        size = counts[key].get(0, 0)
        horizon = query.periods
        if query.cohort_by == "first_order" and newest is not None:
            horizon = min(horizon, newest - int(key))
        retained = [counts[key].get(k, 0) for k in range(horizon + 1)]
        label = bucket_start(int(key), query.unit).isoformat() if key.isdecimal() else key
        rates = [n / size if size else 0.0 for n in retained]
        cohorts.append(Cohort(cohort=label, size=size, retained=retained, rates=rates))
    average = []
    for k in range(max((len(c.retained) for c in cohorts), default=0)):
        reached = [c for c in cohorts if len(c.retained) > k]
        sizes = sum(c.size for c in reached)
        average.append(sum(c.retained[k] for c in reached) / sizes if sizes else 0.0)
    return Result(
        unit=query.unit,
        mode=query.mode,
        cohort_by=query.cohort_by,
        cohorts=cohorts,
        average=average,
    )


def table(result: Result, _, names=None) -> tuple[list[str], list[list]]:
    width = max((len(c.retained) for c in result.cohorts), default=1)
    headers = [_("Cohort"), _("Customers"), *(f"+{k}" for k in range(width))]
    rows = [
        [
            _cohort(c.cohort, result, _, names),
            c.size,
            *(rate(share, 3) for share in c.rates),
            *([""] * (width - len(c.rates))),
        ]
        for c in result.cohorts
    ]
    return headers, rows


def _cohort(key: str, result: Result, _, names) -> str:
    """A cohort by first order is its date; by touchpoint, the touchpoint's name."""
    if result.cohort_by != "touchpoint":
        return key
    return _("No touchpoint") if key == NO_TOUCHPOINT else named("touchpoint", key, names)


def charts(result: Result, _, names=None) -> list[dict]:
    offsets = [f"+{k}" for k in range(len(result.average))]
    percents = [round(r * 100, 1) for r in result.average]
    cohorts = result.cohorts[:40]
    found = [
        {
            "title": _("Average retention by offset"),
            "option": _percent(lines(offsets, [(_("Retention") + " (%)", percents)])),
        }
    ]
    heat = [
        [k, i, round(share * 100, 1)]
        for i, c in enumerate(cohorts)
        for k, share in enumerate(c.rates)
    ]
    found.append(
        {
            "title": _("Retention by cohort"),
            "option": {
                "tooltip": {"position": "top"},
                "grid": {"left": 8, "right": 8, "top": 8, "bottom": 84, "containLabel": True},
                "xAxis": {"type": "category", "data": offsets},
                "yAxis": {
                    "type": "category",
                    "data": [plain(_cohort(c.cohort, result, _, names)) for c in cohorts],
                },
                "visualMap": {
                    "min": 0,
                    "max": 100,
                    "orient": "horizontal",
                    "left": "center",
                    "bottom": 0,
                    "calculable": True,
                    "formatter": "{value}%",
                },
                "series": [
                    {
                        "type": "heatmap",
                        "data": heat,
                        "label": {"show": len(offsets) <= 12, "formatter": "{@[2]}%"},
                        "itemStyle": {"borderColor": "#fff", "borderWidth": 1},
                    }
                ],
            },
        }
    )
    return found


def _percent(option: dict) -> dict:
    """Rates drawn as percents (0–100) say so on their axis and in their tooltip."""
    option["yAxis"].update(max=100, axisLabel={"formatter": "{value}%"})
    return option


FILTERS = ("touchpoint", "touchpoint_type", "store", "guide")
FIELDS = (
    {
        "name": "unit",
        "label": N_("Period length"),
        "default": "week",
        "choices": [("day", N_("By day")), ("week", N_("By week")), ("month", N_("By month"))],
    },
    {
        "name": "mode",
        "label": N_("Retention"),
        "default": "first_time",
        "choices": [("first_time", N_("First-time")), ("recurring", N_("Recurring"))],
    },
    {
        "name": "cohort_by",
        "label": N_("Cohorts by"),
        "default": "first_order",
        "choices": [("first_order", N_("First order")), ("touchpoint", N_("Touchpoint"))],
    },
    {"name": "periods", "label": N_("Periods"), "default": "8", "type": "number", "width": "5em"},
)


def form_query(params: dict[str, str], start, end) -> dict:
    query: dict = {"period": {"start": start, "end": end}}
    for name in ("unit", "mode", "cohort_by"):
        if params.get(name):
            query[name] = params[name]
    if (params.get("periods") or "").isdecimal():
        query["periods"] = int(params["periods"])
    return query
