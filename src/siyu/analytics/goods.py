"""Goods fit (货品适配): each product's and category's purchase frequency against its average
spend per order, in four quadrants.

For each product bought in the period: buyers (customers in view), orders containing it,
purchase frequency = orders / buyers, and average order value = its line value (price ×
quantity, fen) / orders. The quadrant lines are the averages over the products (or categories)
shown. High frequency with low value, low frequency with high value, and high/high suit private
domain; low frequency with low value does not (the seeds' rule).
"""

from __future__ import annotations

from typing import Literal

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa
from pydantic import BaseModel

from siyu.analytics.base import ReportQuery, counted_orders, in_period, people
from siyu.analytics.present import yuan
from siyu.analytics.runner import Context
from siyu.core.i18n import N_
from siyu.core.lake_tables import Tables
from siyu.core.periods import Period

KIND = "goods"
LINE = (
    "array<struct<product_id: string, name: string, category: string, price: string,"
    " quantity: int64>>"
)
LINE_TYPE = dt.dtype(LINE)
QUADRANTS = {
    (True, False): "high_frequency_low_value",
    (False, True): "low_frequency_high_value",
    (True, True): "high_frequency_high_value",
    (False, False): "low_frequency_low_value",
}


@ibis.udf.scalar.builtin(name="from_json")
# Spark's JSON parser; Ibis reads the dtype annotation at run time, which the checker cannot.
def _from_json(text: str, schema: str) -> LINE_TYPE:  # type: ignore[valid-type]
    ...


class Query(ReportQuery):
    period: Period
    level: Literal["product", "category"] = "product"


class Item(BaseModel):
    key: str
    name: str
    category: str
    buyers: int
    orders: int
    quantity: int
    value_fen: int
    frequency: float
    average_order_fen: float
    quadrant: str


class Result(BaseModel):
    level: str
    frequency_line: float
    value_line: float
    items: list[Item]


def lines(orders: ir.Table, engine: str) -> ir.Table:
    """One row per product line of each order (the products JSON, parsed per engine)."""
    if engine == "pyspark":
        parsed = _from_json(orders.products, LINE.replace("int64", "bigint"))
    else:
        parsed = orders.products.cast(LINE)
    items = orders.mutate(item=parsed).unnest("item")
    price = items.item.price.cast("decimal(18, 2)")
    quantity = items.item.quantity.fill_null(1)
    return items.select(
        "order_id",
        "customer_id",
        product_id=items.item.product_id.fill_null(""),
        name=items.item["name"].fill_null(""),
        category=items.item.category.fill_null(""),
        quantity=quantity,
        value_fen=(price * 100 * quantity).cast("int64"),
    )


def build(query: Query, tables: Tables, context: Context) -> dict[str, ir.Table]:
    crowd = people(tables, query.filters, query.period.end).select("customer_id")
    orders = in_period(counted_orders(tables), "paid_at", query.period, context.zone)
    rows = lines(orders.join(crowd, "customer_id"), tables.engine)
    key = rows.product_id if query.level == "product" else rows.category
    rows = rows.mutate(key=key)
    items = rows.group_by("key").aggregate(
        name=rows.name.max(),
        category=rows.category.max(),
        buyers=rows.customer_id.nunique(),
        orders=rows.order_id.nunique(),
        quantity=rows.quantity.sum(),
        value_fen=rows.value_fen.sum(),
    )
    return {"items": items}


def shape(frames: dict[str, pa.Table], query: Query, context: Context) -> Result:
    rows = frames["items"].to_pylist()
    for row in rows:
        row["frequency"] = row["orders"] / row["buyers"] if row["buyers"] else 0.0
        row["average_order_fen"] = row["value_fen"] / row["orders"] if row["orders"] else 0.0
    count = len(rows) or 1
    frequency_line = sum(r["frequency"] for r in rows) / count
    value_line = sum(r["average_order_fen"] for r in rows) / count
    items = [
        Item(
            **{**row, "name": row["name"] if query.level == "product" else row["key"]},
            quadrant=QUADRANTS[
                (row["frequency"] >= frequency_line, row["average_order_fen"] >= value_line)
            ],
        )
        for row in rows
    ]
    items.sort(key=lambda i: (-i.value_fen, i.key))
    return Result(
        level=query.level, frequency_line=frequency_line, value_line=value_line, items=items
    )


QUADRANT_LABELS = {
    "high_frequency_low_value": N_("High frequency, low value"),
    "low_frequency_high_value": N_("Low frequency, high value"),
    "high_frequency_high_value": N_("High frequency, high value"),
    "low_frequency_low_value": N_("Low frequency, low value (not for private domain)"),
}


def table(result: Result, _, names=None) -> tuple[list[str], list[list]]:
    headers = [
        _("Product") if result.level == "product" else _("Category"),
        _("Category"),
        _("Buyers"),
        _("Orders"),
        _("Quantity"),
        _("Value (yuan)"),
        _("Purchase frequency"),
        _("Average order value (yuan)"),
        _("Quadrant"),
    ]
    rows = [
        [
            i.name or i.key,
            i.category,
            i.buyers,
            i.orders,
            i.quantity,
            yuan(i.value_fen),
            f"{i.frequency:.3f}",
            yuan(i.average_order_fen),
            _(QUADRANT_LABELS[i.quadrant]),
        ]
        for i in result.items
    ]
    return headers, rows


def charts(result: Result, _) -> list[dict]:
    series = []
    for quadrant, label in QUADRANT_LABELS.items():
        points = [
            {"name": i.name or i.key, "value": [round(i.frequency, 3), i.average_order_fen / 100]}
            for i in result.items
            if i.quadrant == quadrant
        ]
        series.append({"name": _(label), "type": "scatter", "data": points, "symbolSize": 10})
    series[0]["markLine"] = {
        "silent": True,
        "symbol": "none",
        "lineStyle": {"type": "dashed", "color": "#8d98b3"},
        "data": [{"xAxis": round(result.frequency_line, 3)}, {"yAxis": result.value_line / 100}],
    }
    return [
        {
            "title": _("Purchase frequency × average order value"),
            "option": {
                "tooltip": {"trigger": "item", "formatter": "{b}: {c}"},
                "legend": {"type": "scroll", "bottom": 0},
                # The axes' names sit beside them, centred, clear of their numbers.
                "grid": {"left": 40, "right": 48, "top": 24, "bottom": 72, "containLabel": True},
                "xAxis": {
                    "type": "value",
                    "name": _("Purchase frequency"),
                    "nameLocation": "middle",
                    "nameGap": 28,
                    "scale": True,
                },
                "yAxis": {
                    "type": "value",
                    "name": _("Average order value (yuan)"),
                    "nameLocation": "middle",
                    "nameGap": 44,
                    "scale": True,
                },
                "series": series,
            },
        }
    ]


FILTERS = ("touchpoint", "touchpoint_type", "store", "guide")
FIELDS = (
    {
        "name": "level",
        "label": N_("Level"),
        "default": "product",
        "choices": [("product", N_("Product")), ("category", N_("Category"))],
    },
)


def form_query(params: dict[str, str], start, end) -> dict:
    query: dict = {"period": {"start": start, "end": end}}
    if params.get("level") in ("product", "category"):
        query["level"] = params["level"]
    return query
