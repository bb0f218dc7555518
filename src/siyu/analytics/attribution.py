"""Attribution (归因): which touchpoints earned the period's orders.

A conversion is a counted order paid in the period; its touches are the events of the same
(canonical) customer that carry a touchpoint, at or before the order and within the lookback
window. Each order's credit (1 conversion and its net fen) is split among its touches:

- first / last: all to the earliest / latest touch;
- linear: equally;
- time_decay: in proportion to 2^(−age / half-life), age being the time from touch to order;
- position: 40% first, 40% last, 20% shared by the touches between (one touch: 100%; two: 50/50);
- markov: by removal effect. Every customer in view with a touch in the period is a path
  (start → their touches in time order → conversion or null, conversion if they ordered in the
  period); the removal effect of a touchpoint is the share of the chain's conversion probability
  lost when that state leads to null instead; orders and revenue are shared in proportion.
Orders without a touch in the window go to "direct" (直接).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
from pydantic import BaseModel, Field

from siyu.analytics.base import ReportQuery, bounds, canonical, counted_orders, in_view
from siyu.analytics.present import bars, count, named, plain, rate, yuan
from siyu.analytics.runner import Context
from siyu.core.engines import epoch_seconds
from siyu.core.i18n import N_
from siyu.core.lake_tables import Tables
from siyu.core.periods import Period

KIND = "attribution"
Model = Literal["first_touch", "last_touch", "linear", "time_decay", "position", "markov"]
MODELS = ("first_touch", "last_touch", "linear", "time_decay", "position", "markov")
DIRECT = "direct"
START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"


class Query(ReportQuery):
    period: Period
    model: Model = "last_touch"
    lookback_days: int = Field(30, ge=1, le=365)
    half_life_days: float = Field(7.0, gt=0, le=365)


class Credit(BaseModel):
    touchpoint: str
    entry_type: str
    conversions: float
    revenue: float  # yuan
    revenue_fen: int
    cost_fen: int | None = None  # paid touchpoints with a recorded cost
    roi: float | None = None  # (revenue − cost) / cost


class EntryCredit(BaseModel):
    entry_type: str
    conversions: float
    revenue: float
    revenue_fen: int


class Result(BaseModel):
    model: Model
    lookback_days: int
    conversions: int
    revenue_fen: int
    touchpoints: list[Credit]
    entry_types: list[EntryCredit]


def touches(tables: Tables, since, until) -> ir.Table:
    """customer_id (canonical), touchpoint, at: events that carry a touchpoint."""
    events = tables.events
    rows = events.filter(
        events.customer_id.notnull(),
        events.touchpoint.notnull(),
        events.timestamp >= since,
        events.timestamp < until,
    ).select("customer_id", "touchpoint", at=events.timestamp)
    return canonical(rows, tables.customer_map)


def build(query: Query, tables: Tables, context: Context) -> dict[str, ir.Table]:
    since, until = bounds(query.period, context.zone)
    lookback = ibis.interval(days=query.lookback_days)
    crowd = in_view(tables, query.filters, query.period.end)
    orders = counted_orders(tables)
    orders = orders.filter(
        orders.paid_at >= since, orders.paid_at < until, orders.customer_id.isin(crowd.customer_id)
    )
    orders = orders.select("order_id", "customer_id", "paid_at", "net_fen")
    found = touches(tables, since - lookback, until)
    points = tables.touchpoints.select("code", "entry_type")
    costs = _costs(tables, since, until)
    if query.model == "markov":
        totals = orders.aggregate(conversions=orders.count(), revenue_fen=orders.net_fen.sum())
        transitions = _transitions(found.semi_join(crowd, "customer_id"), orders)
        return {"totals": totals, "transitions": transitions, "points": points, "costs": costs}
    mine = found.select(touch_customer="customer_id", touchpoint="touchpoint", at="at")
    # Every order once: an order without a touch in the window keeps one row, touchpoint null
    # (direct), which takes the whole order under every model.
    pairs = orders.left_join(
        mine,
        [
            orders.customer_id == mine.touch_customer,
            mine.at <= orders.paid_at,
            mine.at > orders.paid_at - lookback,
        ],
    )
    if query.model in ("first_touch", "last_touch"):
        credit = _single_touch(pairs, query.model)
    else:
        weights = _weights(pairs, query)
        once = weights.position == 1  # counts each order once, for the totals
        credit = weights.group_by("touchpoint").aggregate(
            conversions=weights.weight.sum(),
            revenue=(weights.weight * weights.net_fen).sum(),
            orders=once.sum(),
            orders_fen=ibis.ifelse(once, weights.net_fen, 0).sum(),
        )
    # Each credited touchpoint with its entry type and cost, in the same query.
    credit = credit.left_join(points, credit.touchpoint == points.code)
    credit = credit.left_join(costs, credit.touchpoint == costs.code)
    columns = ("touchpoint", "conversions", "revenue", "orders", "orders_fen")
    return {"credit": credit.select(*columns, "entry_type", "cost_fen")}


def _single_touch(pairs: ir.Table, model: str) -> ir.Table:
    """First or last touch: each order's earliest or latest touch (ties: the touchpoint code
    first or last) takes it all - an aggregate per order, no window to sort."""
    key = ibis.struct({"at": pairs.at, "touchpoint": pairs.touchpoint})
    pick = pairs.touchpoint.argmax(key) if model == "last_touch" else pairs.touchpoint.argmin(key)
    per_order = pairs.group_by("order_id", "net_fen").aggregate(touchpoint=pick)
    orders, fen = per_order.count(), per_order.net_fen.sum()
    return per_order.group_by("touchpoint").aggregate(
        conversions=orders.cast("float64"),
        revenue=fen.cast("float64"),
        orders=orders,
        orders_fen=fen,
    )


def _weights(pairs: ir.Table, query: Query) -> ir.Table:
    """Each (order, touch) with the share of the order it earns under the model."""
    per_order = ibis.window(group_by="order_id")
    one = ibis.literal(1.0)
    position = ibis.row_number().over(group_by="order_id", order_by=[pairs.at, pairs.touchpoint])
    ranked = pairs.mutate(position=position + 1, touches=pairs.count().over(per_order))
    first, last, n = ranked.position == 1, ranked.position == ranked.touches, ranked.touches
    match query.model:
        case "linear":
            weight = one / n
        case "time_decay":
            age = epoch_seconds(ranked.paid_at) - epoch_seconds(ranked.at)
            decay = (age.cast("float64") / (query.half_life_days * 86_400) * -np.log(2)).exp()
            ranked = ranked.mutate(decay=decay.fill_null(1.0))  # a direct order: no touch
            weight = ranked.decay / ranked.decay.sum().over(per_order)
        case _:  # position-based, 40/20/40
            middle = 0.2 / (n - 2).cast("float64")
            weight = ibis.cases(
                (n == 1, one),
                (n == 2, 0.5),
                (first | last, 0.4),
                else_=middle,
            )
    return ranked.mutate(weight=weight.cast("float64"))


def _transitions(found: ir.Table, orders: ir.Table) -> ir.Table:
    """(from, to, paths) over every path: start → touches → conversion or null."""
    converted = orders.group_by("customer_id").aggregate(first_order=orders.paid_at.min())
    # A converting path ends at its first order in the period; later touches are not on it.
    rows = found.left_join(converted, found.customer_id == converted.customer_id).drop(
        "customer_id_right"
    )
    rows = rows.filter(rows.first_order.isnull() | (rows.at <= rows.first_order))
    step = ibis.row_number().over(group_by="customer_id", order_by=[rows.at, rows.touchpoint])
    last = ibis.window(group_by="customer_id")
    rows = rows.mutate(
        step=step,
        previous=rows.touchpoint.lag().over(
            group_by="customer_id", order_by=[rows.at, rows.touchpoint]
        ),
        steps=rows.count().over(last),
    )
    moves = rows.select(source=rows.previous.fill_null(START), target="touchpoint")
    ends = rows.filter(rows.step + 1 == rows.steps).select(
        source="touchpoint",
        target=ibis.ifelse(rows.first_order.notnull(), CONVERSION, NULL),
    )
    both = moves.union(ends, distinct=False)
    return both.group_by("source", "target").aggregate(paths=both.count())


def _costs(tables: Tables, since, until) -> ir.Table:
    """Costs of periods that overlap the query's, in proportion to the overlap."""
    costs = tables.touchpoint_costs
    kept = costs.filter(costs.period_start < until, costs.period_end > since)
    start = ibis.greatest(kept.period_start, since).epoch_seconds()
    end = ibis.least(kept.period_end, until).epoch_seconds()
    length = kept.period_end.epoch_seconds() - kept.period_start.epoch_seconds()
    share = ibis.ifelse(length > 0, (end - start).cast("float64") / length, 1.0)
    kept = kept.mutate(cost=kept.cost_fen * share)
    return kept.group_by("code").aggregate(cost_fen=kept.cost.sum())


def removal_effects(transitions: list[dict]) -> dict[str, float]:
    """Touchpoint → removal effect: 1 − P(conversion without it) / P(conversion)."""
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for row in transitions:
        counts[row["source"]][row["target"]] = row["paths"]
    states = sorted({s for s in counts} | {t for row in counts.values() for t in row})
    states = [s for s in states if s not in (CONVERSION, NULL)]
    base = _conversion_probability(counts, states, None)
    if base <= 0:
        return {}
    return {s: 1 - _conversion_probability(counts, states, s) / base for s in states if s != START}


def _conversion_probability(counts, states: list[str], removed: str | None) -> float:
    """P(reaching conversion from start) in the absorbing chain, `removed` leading to null."""
    index = {s: i for i, s in enumerate(states)}
    q = np.zeros((len(states), len(states)))
    r = np.zeros(len(states))
    for source, targets in counts.items():
        total = sum(targets.values())
        if source == removed or total == 0:
            continue
        for target, paths in targets.items():
            if target == CONVERSION:
                r[index[source]] += paths / total
            elif target in index and target != removed:
                q[index[source], index[target]] += paths / total
    absorbed = np.linalg.solve(np.eye(len(states)) - q, r)
    return float(absorbed[index[START]]) if START in index else 0.0


def shape(frames: dict[str, pa.Table], query: Query, context: Context) -> Result:
    if query.model == "markov":
        totals = frames["totals"].to_pylist()[0]
        conversions, revenue = totals["conversions"] or 0, int(totals["revenue_fen"] or 0)
        effects = removal_effects(frames["transitions"].to_pylist())
        whole = sum(effects.values())
        credit = {
            point: (conversions * e / whole, revenue * e / whole)
            for point, e in effects.items()
            if whole > 0 and e > 0
        }
        if whole <= 0 and conversions:
            credit = {DIRECT: (float(conversions), float(revenue))}
    else:
        rows = frames["credit"].to_pylist()
        conversions = sum(row["orders"] or 0 for row in rows)
        revenue = sum(int(row["orders_fen"] or 0) for row in rows)
        credit = {
            row["touchpoint"] or DIRECT: (row["conversions"] or 0.0, row["revenue"] or 0.0)
            for row in rows
            if row["conversions"]
        }
    if query.model == "markov":
        entry = {row["code"]: row["entry_type"] for row in frames["points"].to_pylist()}
        costs = {row["code"]: row["cost_fen"] for row in frames["costs"].to_pylist()}
    else:
        entry = {row["touchpoint"]: row["entry_type"] for row in rows if row["touchpoint"]}
        costs = {
            row["touchpoint"]: row["cost_fen"]
            for row in rows
            if row["touchpoint"] and row["cost_fen"] is not None
        }
    rows = [_credit(point, c, r, entry, costs) for point, (c, r) in credit.items()]
    rows.sort(key=lambda row: (-row.revenue_fen, -row.conversions, row.touchpoint))
    by_entry: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for point, (c, r) in credit.items():
        kind = by_entry[rows_entry(point, entry)]
        kind[0] += c
        kind[1] += r
    entry_rows = [
        EntryCredit(
            entry_type=kind, conversions=round(c, 6), revenue=round(r) / 100, revenue_fen=round(r)
        )
        for kind, (c, r) in sorted(by_entry.items())
    ]
    return Result(
        model=query.model,
        lookback_days=query.lookback_days,
        conversions=conversions,
        revenue_fen=revenue,
        touchpoints=rows,
        entry_types=entry_rows,
    )


def rows_entry(point: str, entry: dict[str, str]) -> str:
    return DIRECT if point == DIRECT else entry.get(point) or "owned"


def _credit(point: str, conversions: float, revenue: float, entry, costs) -> Credit:
    cost = costs.get(point)
    cost_fen = round(cost) if cost is not None else None
    fen = round(revenue)
    return Credit(
        touchpoint=point,
        entry_type=rows_entry(point, entry),
        conversions=round(conversions, 6),
        revenue=fen / 100,
        revenue_fen=fen,
        cost_fen=cost_fen,
        roi=(fen - cost_fen) / cost_fen if cost_fen else None,
    )


HEADERS = (
    N_("Touchpoint"),
    N_("Entry type"),
    N_("Conversions"),
    N_("Revenue (yuan)"),
    N_("Cost (yuan)"),
    N_("ROI"),
)


def table(result: Result, _, names=None) -> tuple[list[str], list[list]]:
    rows = [
        [
            _label(row.touchpoint, _, names),
            _(ENTRY_LABELS.get(row.entry_type, row.entry_type)),
            count(row.conversions),
            yuan(row.revenue_fen),
            yuan(row.cost_fen) if row.cost_fen is not None else "",
            rate(row.roi),
        ]
        for row in result.touchpoints
    ]
    return list(HEADERS), rows


def _label(touchpoint: str, _, names) -> str:
    return _("Direct") if touchpoint == DIRECT else named("touchpoint", touchpoint, names)


ENTRY_LABELS = {
    "organic": N_("Platform organic"),
    "owned": N_("Owned"),
    "paid": N_("Paid"),
    DIRECT: N_("Direct"),
}


def charts(result: Result, _, names=None) -> list[dict]:
    top = result.touchpoints[:20]
    labels = [plain(_label(row.touchpoint, _, names)) for row in top]
    return [
        {
            "title": _("Revenue by touchpoint (yuan)"),
            "option": bars(labels, [(_("Revenue (yuan)"), [row.revenue for row in top])]),
        },
        {
            "title": _("Conversions by entry type"),
            "option": {
                "tooltip": {"trigger": "item"},
                "legend": {"type": "scroll", "bottom": 0},
                "series": [
                    {
                        "type": "pie",
                        "radius": ["40%", "65%"],
                        "data": [
                            {
                                "name": _(ENTRY_LABELS.get(e.entry_type, e.entry_type)),
                                "value": round(e.conversions, 2),
                            }
                            for e in result.entry_types
                        ],
                    }
                ],
            },
        },
    ]


FILTERS = ("touchpoint", "touchpoint_type", "store", "guide")
FIELDS = (
    {
        "name": "model",
        "label": N_("Model"),
        "default": "last_touch",
        "choices": [
            ("first_touch", N_("First touch")),
            ("last_touch", N_("Last touch")),
            ("linear", N_("Linear")),
            ("time_decay", N_("Time decay")),
            ("position", N_("Position-based (40/20/40)")),
            ("markov", N_("Markov chain")),
        ],
    },
    {
        "name": "lookback_days",
        "label": N_("Lookback (days)"),
        "default": "30",
        "type": "number",
        "width": "5em",
    },
    {
        "name": "half_life_days",
        "label": N_("Half-life (days)"),
        "default": "7",
        "type": "number",
        "width": "5em",
    },
)


def form_query(params: dict[str, str], start, end) -> dict:
    query: dict = {"period": {"start": start, "end": end}}
    if params.get("model") in MODELS:
        query["model"] = params["model"]
    for name in ("lookback_days", "half_life_days"):
        if params.get(name):
            query[name] = params[name]
    return query
