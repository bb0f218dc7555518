"""RFM (RFM 客户分层): scores 1–5 for recency, frequency and monetary, the eight classic layers,
and how customers moved between layers from one date to another.

Buyers are the customers in view with a counted order before the end of `as_of` (brand's day).
Recency is whole days from the last order to that instant; frequency the orders; monetary the
net fen. Scores are quintiles of rank: score = 1 + ⌊5 × rank / buyers⌋, where rank counts the
buyers strictly worse (longer ago, fewer orders, less money). Tie-break: equal values share the
score of the first of them, so a tie never splits across scores and the order of rows never
matters. The layer compares the raw values with the buyers' averages, exactly as the segment
rules' `rfm` condition does (docs/segments.md): recent at or below the average recency, frequent
and valuable at or above the average orders and amount (ties to the better side).
"""

from __future__ import annotations

from datetime import date, timedelta

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from pydantic import BaseModel, model_validator

from siyu.analytics.base import ReportQuery, counted_orders, in_view
from siyu.analytics.present import bars, rate, yuan
from siyu.analytics.runner import Context
from siyu.core.engines import epoch_seconds
from siyu.core.i18n import N_
from siyu.core.lake_tables import Tables
from siyu.core.limits import Day
from siyu.core.periods import day_start_utc
from siyu.segments.rfm import LAYERS

KIND = "rfm"
SUMS = ("customers", "recency_days", "orders", "monetary_fen")
SECONDS_PER_DAY = 86_400
LAYER_NAMES = list(LAYERS.values())
LAYER_LABELS = {
    "important_value": N_("Important value"),  # 重要价值
    "important_development": N_("Important development"),  # 重要发展
    "important_retention": N_("Important retention"),  # 重要保持
    "important_recovery": N_("Important recovery"),  # 重要挽留
    "general_value": N_("General value"),  # 一般价值
    "general_development": N_("General development"),  # 一般发展
    "general_retention": N_("General retention"),  # 一般保持
    "general_recovery": N_("General recovery"),  # 一般挽留
}


class Query(ReportQuery):
    as_of: Day
    compare_to: Day | None = None  # an earlier date: who moved from which layer to which

    @model_validator(mode="after")
    def _earlier(self) -> Query:
        if self.compare_to and self.compare_to >= self.as_of:
            raise ValueError("compare_to must be a day before as_of")
        return self


class Layer(BaseModel):
    layer: str
    customers: int
    share: float
    recency_days: float  # averages over the layer
    orders: float
    monetary_fen: float


class Move(BaseModel):
    before: str  # a layer, or "none": not a buyer then
    after: str
    customers: int


class Result(BaseModel):
    as_of: date
    compare_to: date | None
    buyers: int
    layers: list[Layer]
    scores: list[list[int]]  # [r][f] customers with recency score r+1 and frequency score f+1
    migration: list[Move]


def scored(tables: Tables, query: Query, as_of: date, zone: str) -> ir.Table:
    """customer_id, recency_days, orders, monetary_fen, r, f, m, layer for buyers at as_of."""
    until = day_start_utc(as_of + timedelta(days=1), zone)
    crowd = in_view(tables, query.filters, as_of)
    orders = counted_orders(tables)
    orders = orders.filter(orders.paid_at < ibis.literal(until)).semi_join(crowd, "customer_id")
    # One aggregate, which the engine computes once though it is read three times below.
    last = epoch_seconds(orders.paid_at.max())
    buyers = orders.group_by("customer_id").aggregate(
        recency_days=(int(until.timestamp()) - last) // SECONDS_PER_DAY,
        orders=orders.count(),
        monetary_fen=orders.net_fen.sum(),
    )
    whole = ibis.window()
    n = buyers.count().over(whole)
    ranked = buyers.mutate(
        n=n,
        recency_total=buyers.recency_days.sum().over(whole),
        orders_total=buyers.orders.sum().over(whole),
        monetary_total=buyers.monetary_fen.sum().over(whole),
        m=1 + (5 * ibis.rank().over(order_by=buyers.monetary_fen)) // n,
    )
    # Days and order counts take few values: rank each value once, not each buyer.
    for name, column, descending in (("r", "recency_days", True), ("f", "orders", False)):
        ranked = ranked.join(_ranks(buyers, column, descending, name), column)
        ranked = ranked.mutate(**{name: 1 + (5 * ranked[name]) // ranked.n})
    flags = (
        ranked.recency_days * ranked.n <= ranked.recency_total,
        ranked.orders * ranked.n >= ranked.orders_total,
        ranked.monetary_fen * ranked.n >= ranked.monetary_total,
    )
    cases = []
    for wanted, layer in LAYERS.items():
        matches = [flag if high else ~flag for flag, high in zip(flags, wanted, strict=True)]
        cases.append((matches[0] & matches[1] & matches[2], layer))
    return ranked.select(
        "customer_id",
        "recency_days",
        "orders",
        "monetary_fen",
        "r",
        "f",
        "m",
        layer=ibis.cases(*cases),
    )


def _ranks(buyers: ir.Table, column: str, descending: bool, name: str) -> ir.Table:
    """Each value of `column` with its rank: the buyers strictly worse than it."""
    values = buyers.group_by(column).aggregate(count=buyers.count())
    order = ibis.desc(values[column]) if descending else values[column]
    below = values["count"].cumsum(order_by=order) - values["count"]
    return values.select(column, **{name: below})


def build(query: Query, tables: Tables, context: Context) -> dict[str, ir.Table]:
    now = scored(tables, query, query.as_of, context.zone)
    # One pass over the scored buyers: layers and the score grid are both sums of these cells.
    cells = now.group_by("layer", "r", "f").aggregate(
        customers=now.count(),
        recency_days=now.recency_days.sum(),
        orders=now.orders.sum(),
        monetary_fen=now.monetary_fen.sum(),
    )
    found = {"cells": cells}
    if query.compare_to:
        then = scored(tables, query, query.compare_to, context.zone)
        then = then.select(before_customer="customer_id", before="layer")
        both = now.select("customer_id", after="layer").outer_join(
            then, now.customer_id == then.before_customer
        )
        both = both.select(before=both.before.fill_null("none"), after=both.after.fill_null("none"))
        found["migration"] = both.group_by("before", "after").aggregate(customers=both.count())
    return found


def shape(frames: dict[str, pa.Table], query: Query, context: Context) -> Result:
    totals = {name: dict.fromkeys(SUMS, 0) for name in LAYER_NAMES}
    scores = [[0] * 5 for _ in range(5)]
    for row in frames["cells"].to_pylist():
        for column in SUMS:
            totals[row["layer"]][column] += row[column]
        scores[row["r"] - 1][row["f"] - 1] += row["customers"]
    buyers = sum(total["customers"] for total in totals.values())
    layers = [
        Layer(
            layer=name,
            customers=total["customers"],
            share=total["customers"] / buyers if total["customers"] else 0.0,
            **{
                column: round(total[column] / total["customers"], 6) if total["customers"] else 0.0
                for column in SUMS[1:]
            },
        )
        for name, total in totals.items()
    ]
    moves = [Move(**row) for row in frames.get("migration", pa.table({})).to_pylist()]
    moves.sort(key=lambda m: (m.before, m.after))
    return Result(
        as_of=query.as_of,
        compare_to=query.compare_to,
        buyers=buyers,
        layers=layers,
        scores=scores,
        migration=moves,
    )


HEADERS = (
    N_("Layer"),
    N_("Customers"),
    N_("Share"),
    N_("Average recency (days)"),
    N_("Average orders"),
    N_("Average spend (yuan)"),
)


def table(result: Result, _) -> tuple[list[str], list[list]]:
    rows = [
        [
            _(LAYER_LABELS[layer.layer]),
            layer.customers,
            rate(layer.share, 3),
            f"{layer.recency_days:.1f}",
            f"{layer.orders:.2f}",
            yuan(layer.monetary_fen),
        ]
        for layer in result.layers
    ]
    return list(HEADERS), rows


def charts(result: Result, _) -> list[dict]:
    names = [_(LAYER_LABELS[layer.layer]) for layer in result.layers]
    found = [
        {
            "title": _("Customers by RFM layer"),
            "option": bars(names, [(_("Customers"), [layer.customers for layer in result.layers])]),
        },
        {
            "title": _("Recency score × frequency score"),
            "option": {
                "tooltip": {"position": "top"},
                "grid": {"left": 8, "right": 8, "top": 8, "bottom": 60, "containLabel": True},
                "xAxis": {"type": "category", "name": "F", "data": ["1", "2", "3", "4", "5"]},
                "yAxis": {"type": "category", "name": "R", "data": ["1", "2", "3", "4", "5"]},
                "visualMap": {
                    "min": 0,
                    "max": max((max(row) for row in result.scores), default=1) or 1,
                    "orient": "horizontal",
                    "left": "center",
                    "bottom": 0,
                },
                "series": [
                    {
                        "type": "heatmap",
                        "label": {"show": True},
                        "data": [[f, r, result.scores[r][f]] for r in range(5) for f in range(5)],
                    }
                ],
            },
        },
    ]
    if result.migration:
        labels = {name: _(label) for name, label in LAYER_LABELS.items()}
        labels["none"] = _("Not a buyer")
        nodes = [{"name": f"{labels[n]} ·"} for n in labels] + [{"name": labels[n]} for n in labels]
        links = [
            {"source": f"{labels[m.before]} ·", "target": labels[m.after], "value": m.customers}
            for m in result.migration
        ]
        found.append(
            {
                "title": _("Moves between layers"),
                "option": {
                    "tooltip": {"trigger": "item"},
                    "series": [{"type": "sankey", "data": nodes, "links": links, "left": 8}],
                },
            }
        )
    return found


FILTERS = ("touchpoint", "touchpoint_type", "store", "guide")
FIELDS = (
    {"name": "as_of", "label": N_("As of"), "type": "date", "width": "10em"},
    {"name": "compare_to", "label": N_("Compare with"), "type": "date", "width": "10em"},
)


def form_query(params: dict[str, str], start, end) -> dict:
    query = {"as_of": params.get("as_of") or end}
    if params.get("compare_to"):
        query["compare_to"] = params["compare_to"]
    return query
