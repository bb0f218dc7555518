"""The home page's numbers (首页看板) for a period and the one before it, day by day.

New customers (first seen in the period) by the type and entry type of the touchpoint that brought
them; active customers, who are the GMV report's visitors (an event of their own or a counted
order: visits() in base.py); buyers, orders and GMV over counted orders, net of refunds, as the
GMV report counts them. The page and the report therefore agree for any period and filters.
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from pydantic import BaseModel

from siyu.analytics.base import ReportQuery, bounds, in_view, paid_between, people, visits
from siyu.analytics.runner import Context
from siyu.analytics.zones import bucket_of, bucket_start, local_day
from siyu.core.lake_tables import Tables
from siyu.core.periods import Period

KIND = "overview"


class Query(ReportQuery):
    period: Period


class Totals(BaseModel):
    new_customers: int = 0
    active_customers: int = 0
    buyers: int = 0
    orders: int = 0
    gmv_fen: int = 0

    @property
    def average_order_fen(self) -> int:
        """GMV per order, to the fen (0 without orders)."""
        return round(self.gmv_fen / self.orders) if self.orders else 0


class Day(BaseModel):
    day: date
    new_customers: int = 0
    active_customers: int = 0
    orders: int = 0
    gmv_fen: int = 0


class Arrivals(BaseModel):
    """New customers on a day who came through one kind of touchpoint."""

    day: date
    touchpoint_type: str
    entry_type: str
    customers: int


class Result(BaseModel):
    period: Period
    previous: Period
    current: Totals
    before: Totals  # the previous period's
    days: list[Day]  # every day of the previous period, then of this one
    arrivals: list[Arrivals]


def build(query: Query, tables: Tables, context: Context) -> dict[str, ir.Table]:
    zone, period = context.zone, query.period
    whole = Period(start=period.previous.start, end=period.end)
    since, until = bounds(whole, zone)
    first_day = bucket_of(period.start, "day")
    crowd = people(tables, query.filters, period.end)

    arrived = crowd.filter(crowd.first_seen_at >= since, crowd.first_seen_at < until)
    arrivals = arrived.group_by(
        "touchpoint_type", "entry_type", day=local_day(arrived.first_seen_at, zone)
    ).aggregate(customers=arrived.count())

    # Each customer once a day; from those, each once a period (one scan of the events: a day's
    # count and a period's are both read from the same rows).
    counted = in_view(tables, query.filters, period.end)
    seen = visits(tables, whole, zone).semi_join(counted, "customer_id")
    daily = seen.select("customer_id", day=local_day(seen.at, zone)).distinct()
    per_day = daily.group_by("day").aggregate(
        is_current=ibis.null("boolean"), customers=daily.count()
    )
    each = daily.select("customer_id", is_current=daily.day >= first_day).distinct()
    per_period = each.group_by("is_current").aggregate(
        day=ibis.null("int64"), customers=each.count()
    )
    active = per_day.union(per_period.select(*per_day.columns), distinct=False)

    sold = paid_between(tables, since, until).semi_join(counted, "customer_id")
    sold = sold.select("customer_id", "net_fen", day=local_day(sold.paid_at, zone))
    per_day = sold.group_by("day").aggregate(
        is_current=ibis.null("boolean"),
        orders=sold.count(),
        gmv_fen=sold.net_fen.sum(),
        buyers=ibis.null("int64"),
    )
    per_period = sold.group_by(is_current=sold.day >= first_day).aggregate(
        day=ibis.null("int64"),
        orders=ibis.null("int64"),
        gmv_fen=ibis.null("int64"),
        buyers=sold.customer_id.nunique(),
    )
    sales = per_day.union(per_period.select(*per_day.columns), distinct=False)
    return {"arrivals": arrivals, "active": active, "sales": sales}


def shape(frames: dict[str, pa.Table], query: Query, context: Context) -> Result:
    period = query.period
    days = {d: Day(day=d) for d in period.previous.dates() + period.dates()}
    arrivals = []
    for row in frames["arrivals"].to_pylist():
        row["day"] = bucket_start(row["day"], "day")
        arrivals.append(Arrivals(**row))
        if row["day"] in days:
            days[row["day"]].new_customers += row["customers"]
    arrivals.sort(key=lambda a: (a.day, a.touchpoint_type, a.entry_type))
    buyers = {}
    for row in frames["sales"].to_pylist():
        if row["day"] is None:
            buyers[row["is_current"]] = row["buyers"]
        elif found := days.get(bucket_start(row["day"], "day")):
            found.orders, found.gmv_fen = row["orders"], int(row["gmv_fen"] or 0)
    active_in = {}
    for row in frames["active"].to_pylist():
        if row["day"] is None:
            active_in[row["is_current"]] = row["customers"]
        elif found := days.get(bucket_start(row["day"], "day")):
            found.active_customers = row["customers"]
    totals = {
        is_current: _totals(days.values(), part).model_copy(
            update={
                "active_customers": active_in.get(is_current, 0),
                "buyers": buyers.get(is_current, 0),
            }
        )
        for is_current, part in ((True, period), (False, period.previous))
    }
    return Result(
        period=period,
        previous=period.previous,
        current=totals[True],
        before=totals[False],
        days=list(days.values()),
        arrivals=arrivals,
    )


def nothing(query: Query) -> Result:
    """The result over nobody: every day and total zero."""
    period = query.period
    return Result(
        period=period,
        previous=period.previous,
        current=Totals(),
        before=Totals(),
        days=[Day(day=d) for d in period.previous.dates() + period.dates()],
        arrivals=[],
    )


def _totals(days, period: Period) -> Totals:
    mine = [d for d in days if period.start <= d.day <= period.end]
    return Totals(
        new_customers=sum(d.new_customers for d in mine),
        orders=sum(d.orders for d in mine),
        gmv_fen=sum(d.gmv_fen for d in mine),
    )
