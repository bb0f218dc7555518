"""GMV decomposition (销售额拆解): GMV = visitors × conversion × average order value × purchase
frequency, per period and per acquisition touchpoint, its type, store or guide, and how much of
the change from the previous period each factor explains (a Shapley split, see decompose.py).

visitors: customers in view who did anything in the period (an event of their own, not one the
brand sent them, or a counted order);
conversion: buyers / visitors; average order value: GMV / orders; frequency: orders / buyers.
The product is exactly GMV. A factor with nothing to divide by (no visitors, no buyers) is 0.
"""

from __future__ import annotations

from typing import Literal

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from pydantic import BaseModel, Field

from siyu.analytics.base import NO_TOUCHPOINT, ReportQuery, bounds, paid_between, people, visits
from siyu.analytics.decompose import shapley_split, whole_fen
from siyu.analytics.present import bars, named, plain, rate, ratio, yuan
from siyu.analytics.runner import Context
from siyu.core.i18n import N_
from siyu.core.lake_tables import Tables
from siyu.core.periods import Period
from siyu.touchpoints.labels import GROUP_LABELS

KIND = "gmv"
Breakdown = Literal["touchpoint", "touchpoint_type", "store", "guide"]
DIMENSIONS = {
    "touchpoint": "touchpoint",
    "touchpoint_type": "touchpoint_type",
    "store": "store_id",
    "guide": "owner_id",
}
FACTORS = ("visitors", "conversion", "average_order_value", "frequency")
TOTAL = "all"


class Query(ReportQuery):
    period: Period
    breakdown: Breakdown | None = None


class Factors(BaseModel):
    visitors: int = 0
    buyers: int = 0
    orders: int = 0
    gmv_fen: int = 0

    @property
    def values(self) -> list[float]:
        """visitors, conversion, average order value (fen), frequency."""
        conversion = self.buyers / self.visitors if self.visitors else 0.0
        average = self.gmv_fen / self.orders if self.orders else 0.0
        frequency = self.orders / self.buyers if self.buyers else 0.0
        return [float(self.visitors), conversion, average, frequency]


class Row(BaseModel):
    key: str
    current: Factors
    previous: Factors
    change_fen: int
    explained_fen: dict[str, int] = Field(description="factor → fen of the change it explains")
    conversion: float
    average_order_fen: float
    frequency: float


class Result(BaseModel):
    period: Period
    previous: Period
    breakdown: Breakdown | None
    total: Row
    rows: list[Row]


def build(query: Query, tables: Tables, context: Context) -> dict[str, ir.Table]:
    zone, period = context.zone, query.period
    whole = Period.model_construct(start=period.previous.start, end=period.end)
    since, until = bounds(whole, zone)
    current_since, _ = bounds(period, zone)
    crowd = people(tables, query.filters, period.end)
    dimension = DIMENSIONS[query.breakdown] if query.breakdown else None
    crowd = crowd.select(
        "customer_id",
        key=crowd[dimension].cast("string").fill_null("none") if dimension else ibis.literal(TOTAL),
    )

    def slot(moment: ir.TimestampValue) -> ir.BooleanValue:
        return moment >= current_since

    seen = visits(tables, whole, zone)
    active = seen.select("customer_id", is_current=slot(seen.at)).distinct()
    orders = paid_between(tables, since, until)
    orders = orders.mutate(is_current=slot(orders.paid_at))
    active = active.join(crowd, "customer_id")
    visitors = active.group_by("is_current", "key").aggregate(visitors=active.count())
    sold = orders.join(crowd, "customer_id")
    sales = sold.group_by("is_current", "key").aggregate(
        buyers=sold.customer_id.nunique(), orders=sold.count(), gmv_fen=sold.net_fen.sum()
    )
    return {"visitors": visitors, "sales": sales}


def shape(frames: dict[str, pa.Table], query: Query, context: Context) -> Result:
    numbers: dict[tuple[bool, str], Factors] = {}
    for row in frames["visitors"].to_pylist():
        numbers.setdefault((row["is_current"], row["key"]), Factors()).visitors = row["visitors"]
    for row in frames["sales"].to_pylist():
        found = numbers.setdefault((row["is_current"], row["key"]), Factors())
        found.buyers, found.orders = row["buyers"], row["orders"]
        found.gmv_fen = int(row["gmv_fen"] or 0)
    keys = sorted({key for _, key in numbers})
    rows = [_row(key, numbers.get((True, key)), numbers.get((False, key))) for key in keys]
    rows.sort(key=lambda r: (-r.current.gmv_fen, r.key))
    total = _row(TOTAL, _sum(r.current for r in rows), _sum(r.previous for r in rows))
    return Result(
        period=query.period,
        previous=query.period.previous,
        breakdown=query.breakdown,
        total=total,
        rows=rows if query.breakdown else [],
    )


def _sum(parts) -> Factors:
    total = Factors()
    for part in parts:
        total.visitors += part.visitors
        total.buyers += part.buyers
        total.orders += part.orders
        total.gmv_fen += part.gmv_fen
    return total


def _row(key: str, current: Factors | None, previous: Factors | None) -> Row:
    current, previous = current or Factors(), previous or Factors()
    change = current.gmv_fen - previous.gmv_fen
    shares = whole_fen(shapley_split(previous.values, current.values), change)
    _, conversion, average, frequency = current.values
    return Row(
        key=key,
        current=current,
        previous=previous,
        change_fen=change,
        explained_fen=dict(zip(FACTORS, shares, strict=True)),
        conversion=conversion,
        average_order_fen=average,
        frequency=frequency,
    )


HEADERS = (
    N_("Breakdown"),
    N_("Visitors"),
    N_("Buyers"),
    N_("Orders"),
    N_("GMV (yuan)"),
    N_("Conversion"),
    N_("Average order value (yuan)"),
    N_("Purchase frequency"),
    N_("GMV, previous period (yuan)"),
    N_("Change (yuan)"),
    N_("Explained by visitors (yuan)"),
    N_("Explained by conversion (yuan)"),
    N_("Explained by average order value (yuan)"),
    N_("Explained by frequency (yuan)"),
)
FACTOR_LABELS = {
    "visitors": N_("Visitors"),
    "conversion": N_("Conversion"),
    "average_order_value": N_("Average order value"),
    "frequency": N_("Purchase frequency"),
}


def table(result: Result, _, names=None) -> tuple[tuple[str, ...], list[list]]:
    label = _labeler(result, _, names)
    rows = []
    for row in [result.total, *result.rows]:
        now = row.current
        rows.append(
            [
                label(row.key),
                now.visitors,
                now.buyers,
                now.orders,
                yuan(now.gmv_fen),
                rate(row.conversion),
                yuan(row.average_order_fen),
                ratio(row.frequency),
                yuan(row.previous.gmv_fen),
                yuan(row.change_fen),
                *(yuan(row.explained_fen[f]) for f in FACTORS),
            ]
        )
    return HEADERS, rows


# Customers with no store, guide or first touchpoint share the key "none".
NONE_LABELS = {
    "store": N_("No store"),
    "guide": N_("No guide"),
    "touchpoint": N_("No touchpoint"),
    "touchpoint_type": N_("No touchpoint"),
}


def _labeler(result: Result, _, names):
    """A breakdown key as people read it: a store's, touchpoint's or guide's name (a store's or
    touchpoint's code on hover), a touchpoint type's label."""
    known = (names or {}).get(result.breakdown or "", {})

    def label(key: str) -> str:
        if key == TOTAL:
            return _("All")
        if key == NO_TOUCHPOINT and result.breakdown in NONE_LABELS:
            return _(NONE_LABELS[result.breakdown])
        if result.breakdown == "touchpoint_type" and key in GROUP_LABELS:
            return _(GROUP_LABELS[key])
        if result.breakdown in ("store", "touchpoint"):
            return named(result.breakdown, key, names)
        return known.get(key, key)

    return label


# The waterfall's colours: the two periods' totals, a factor that added GMV, one that took it away.
TOTAL_COLOUR, UP_COLOUR, DOWN_COLOUR = "#5470c6", "#2e9e5b", "#d9534f"


def charts(result: Result, _, names=None) -> list[dict]:
    """The change as a waterfall from the previous GMV to this one, each factor's bar green when
    it added GMV and red when it took some away; GMV by breakdown."""
    found = [{"title": _("What explains the change in GMV"), "option": _waterfall(result, _)}]
    if result.rows:
        label = _labeler(result, _, names)
        keys = [plain(label(row.key)) for row in result.rows[:20]]
        series = [
            (_("This period"), [row.current.gmv_fen / 100 for row in result.rows[:20]]),
            (_("Previous period"), [row.previous.gmv_fen / 100 for row in result.rows[:20]]),
        ]
        found.append({"title": _("GMV by breakdown (yuan)"), "option": bars(keys, series)})
    return found


def _waterfall(result: Result, _) -> dict:
    total = result.total
    steps = [_(FACTOR_LABELS[f]) for f in FACTORS]
    values = [total.explained_fen[f] / 100 for f in FACTORS]
    base, running = [0.0], total.previous.gmv_fen / 100
    for value in values:
        base.append(min(running, running + value))
        running += value
    base.append(0.0)
    ends = (total.previous.gmv_fen / 100, total.current.gmv_fen / 100)
    visible = [
        _bar(ends[0], TOTAL_COLOUR, f"{ends[0]:,.0f}"),
        *(_bar(abs(v), UP_COLOUR if v >= 0 else DOWN_COLOUR, f"{v:+,.0f}") for v in values),
        _bar(ends[1], TOTAL_COLOUR, f"{ends[1]:,.0f}"),
    ]
    names = [_("Previous period"), *steps, _("This period")]
    option = bars(names, [("", base), (_("GMV (yuan)"), visible)], stack=True, horizontal=False)
    option["series"][0].update(itemStyle={"color": "transparent"}, tooltip={"show": False})
    option["tooltip"] = {"show": False}  # each bar's label says its signed amount
    option["legend"] = {"show": False}
    option["grid"]["top"] = 28
    return option


def _bar(value: float, colour: str, label: str) -> dict:
    return {
        "value": value,
        "itemStyle": {"color": colour},
        "label": {"show": True, "position": "top", "formatter": label},
    }


FILTERS = ("touchpoint", "touchpoint_type", "store", "guide")
FIELDS = (
    {
        "name": "breakdown",
        "label": N_("Break down by"),
        "choices": [
            ("", N_("Nothing")),
            ("touchpoint", N_("Touchpoint")),
            ("touchpoint_type", N_("Touchpoint type")),
            ("store", N_("Store")),
            ("guide", N_("Guide")),
        ],
    },
)


def form_query(params: dict[str, str], start, end) -> dict:
    breakdown = params.get("breakdown") or None
    return {
        "period": {"start": start, "end": end},
        "breakdown": breakdown if breakdown in DIMENSIONS else None,
    }
