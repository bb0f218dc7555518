"""Guides (导购): what each guide's customers did in the period.

Per guide (the staff member who owns customers): customers owned (by the latest snapshot), new
(first seen in the period), lost (deleted the guide on WeCom: `Contact Deleted` events in the
period), messages sent to them (`Message Sent`), and the orders and GMV of those customers. Tasks
and their execution rate are not counted: Siyu records no guide tasks yet.
"""

from __future__ import annotations

import ibis.expr.types as ir
import pyarrow as pa
from pydantic import BaseModel

from siyu.analytics.base import Period, ReportQuery, canonical, counted_orders, in_period, people
from siyu.analytics.present import bars, yuan
from siyu.analytics.runner import Context
from siyu.analytics.tables import Tables

KIND = "guides"
LOST_EVENT, MESSAGE_EVENT = "Contact Deleted", "Message Sent"


class Query(ReportQuery):
    period: Period


class Guide(BaseModel):
    guide_id: int
    customers: int
    new_customers: int
    lost_customers: int
    messages: int
    buyers: int
    orders: int
    gmv_fen: int


class Result(BaseModel):
    guides: list[Guide]
    tasks_tracked: bool = False  # no guide tasks exist in Siyu yet: no execution rate


def build(query: Query, tables: Tables, context: Context) -> dict[str, ir.Table]:
    since, until = query.period.bounds(context.zone)
    crowd = people(tables, query.filters, query.period.end)
    owned = crowd.filter(crowd.owner_id.notnull()).select(
        "customer_id", "owner_id", "first_seen_at"
    )
    customers = owned.group_by("owner_id").aggregate(
        customers=owned.count(),
        new_customers=((owned.first_seen_at >= since) & (owned.first_seen_at < until)).sum(),
    )
    events = tables.events
    events = events.filter(
        events.event.isin([LOST_EVENT, MESSAGE_EVENT]),
        events.customer_id.notnull(),
        events.timestamp >= since,
        events.timestamp < until,
    ).select("customer_id", "event")
    events = canonical(events, tables.customer_map).join(owned, "customer_id")
    acts = events.group_by("owner_id").aggregate(
        lost_customers=events.customer_id.nunique(where=events.event == LOST_EVENT),
        messages=(events.event == MESSAGE_EVENT).sum(),
    )
    orders = in_period(counted_orders(tables), "paid_at", query.period, context.zone)
    orders = orders.join(owned, "customer_id")
    sales = orders.group_by("owner_id").aggregate(
        buyers=orders.customer_id.nunique(), orders=orders.count(), gmv_fen=orders.net_fen.sum()
    )
    return {"customers": customers, "acts": acts, "sales": sales}


def shape(frames: dict[str, pa.Table], query: Query, context: Context) -> Result:
    found: dict[int, dict] = {}
    for name in ("customers", "acts", "sales"):
        for row in frames[name].to_pylist():
            found.setdefault(row.pop("owner_id"), {}).update(row)
    guides = [
        Guide(
            guide_id=guide,
            **{
                field: int(values.get(field) or 0)
                for field in Guide.model_fields
                if field != "guide_id"
            },
        )
        for guide, values in found.items()
    ]
    guides.sort(key=lambda g: (-g.gmv_fen, -g.customers, g.guide_id))
    return Result(guides=guides)


def table(result: Result, _, names=None) -> tuple[list[str], list[list]]:
    names = (names or {}).get("guide", {})
    headers = [
        _("Guide"),
        _("Customers"),
        _("New customers"),
        _("Lost customers"),
        _("Messages sent"),
        _("Buyers"),
        _("Orders"),
        _("GMV (yuan)"),
    ]
    rows = [
        [
            names.get(str(g.guide_id), str(g.guide_id)),
            g.customers,
            g.new_customers,
            g.lost_customers,
            g.messages,
            g.buyers,
            g.orders,
            yuan(g.gmv_fen),
        ]
        for g in result.guides
    ]
    return headers, rows


def charts(result: Result, _, names=None) -> list[dict]:
    names = (names or {}).get("guide", {})
    top = result.guides[:20]
    labels = [names.get(str(g.guide_id), str(g.guide_id)) for g in top]
    return [
        {
            "title": _("GMV of each guide's customers (yuan)"),
            "option": bars(labels, [(_("GMV (yuan)"), [g.gmv_fen / 100 for g in top])]),
        },
        {
            "title": _("New and lost customers"),
            "option": bars(
                labels,
                [
                    (_("New customers"), [g.new_customers for g in top]),
                    (_("Lost customers"), [g.lost_customers for g in top]),
                ],
            ),
        },
    ]


FILTERS = ("touchpoint", "touchpoint_type", "store", "guide")
FIELDS: tuple = ()


def form_query(params: dict[str, str], start, end) -> dict:
    return {"period": {"start": start, "end": end}}
