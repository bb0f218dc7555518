"""Guides (导购): what each guide's customers did in the period.

Per guide (the staff member who owns customers): customers owned (by the latest snapshot), new
(first seen in the period), lost (deleted the guide on WeCom: `Contact Deleted` events in the
period), messages the guide sent them (`Message Sent` of their own, or a WeCom 群发 they confirmed;
not the brand's SMS, email or official-account messages), and the orders and GMV of those
customers.

Tasks (导购任务): the assignments made to the guide in the period (`Task Assigned`, the guide named
by the event's `guide_id`, who may since have handed the customer on) and how many of them were
executed (a `Task Completed` for the same task and customer, up to the period's end). The
execution rate (执行率) is executed / assigned; a guide given no task in the period has none.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from pydantic import BaseModel

from siyu.analytics.base import ReportQuery, bounds, canonical, counted_orders, in_period, people
from siyu.analytics.present import bars, rate, yuan
from siyu.analytics.runner import Context
from siyu.core.engines import json_text_at
from siyu.core.lake_tables import Tables
from siyu.core.periods import Period

KIND = "guides"
LOST_EVENT, MESSAGE_EVENT = "Contact Deleted", "Message Sent"
ASSIGNED_EVENT, COMPLETED_EVENT = "Task Assigned", "Task Completed"
# The ids in the events' properties (JSON text written by Siyu): a regular expression reads them
# the same way on DuckDB and on Spark, where a JSON function would differ.
TASK_ID, GUIDE_ID = r'"task_id":\s*(\d+)', r'"guide_id":\s*(\d+)'


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
    tasks_assigned: int = 0
    tasks_executed: int = 0
    execution_rate: float | None = None  # None: no task assigned in the period


class Result(BaseModel):
    guides: list[Guide]
    tasks_tracked: bool = True  # from Task Assigned / Task Completed events


def build(query: Query, tables: Tables, context: Context) -> dict[str, ir.Table]:
    since, until = bounds(query.period, context.zone)
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
        _the_guides(events),
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
    work = _tasks(tables, crowd.select("customer_id"), since, until)
    return {"customers": customers, "acts": acts, "sales": sales, "tasks": work}


def _the_guides(events: ir.Table) -> ir.BooleanValue:
    """A message counts for the guide when the guide sent it: a message of their own (no
    broadcast or journey behind it) or a WeCom 群发 they confirmed. An SMS, email or
    official-account message the brand sent through messaging is not the guide's work."""
    origin = json_text_at(events.properties, ("origin",))
    channel = json_text_at(events.properties, ("channel",))
    assert origin is not None and channel is not None
    return (events.event != MESSAGE_EVENT) | origin.isnull() | (channel == "wecom")


def _number(text: ir.StringColumn, pattern: str) -> ir.IntegerColumn:
    return text.re_extract(pattern, 1).nullif("").cast("int64")


def _tasks(tables: Tables, crowd: ir.Table, since, until) -> ir.Table:
    """Per guide named by the assignment: assigned in the period, and of those executed."""
    events = tables.events
    events = events.filter(
        events.event.isin([ASSIGNED_EVENT, COMPLETED_EVENT]),
        events.customer_id.notnull(),
        events.timestamp < until,
    )
    events = events.select(
        "customer_id",
        "event",
        "timestamp",
        task_id=_number(events.properties, TASK_ID),
        guide_id=_number(events.properties, GUIDE_ID),
    )
    events = canonical(events, tables.customer_map).join(crowd, "customer_id")
    assigned = events.filter(events.event == ASSIGNED_EVENT, events.timestamp >= since)
    assigned = assigned.select("customer_id", "task_id", owner_id=assigned.guide_id)
    completed = events.filter(events.event == COMPLETED_EVENT)
    completed = completed.select("customer_id", "task_id", executed=ibis.literal(1)).distinct()
    joined = assigned.left_join(completed, ["customer_id", "task_id"])
    return joined.group_by("owner_id").aggregate(
        tasks_assigned=joined.count(), tasks_executed=joined.executed.notnull().sum()
    )


def shape(frames: dict[str, pa.Table], query: Query, context: Context) -> Result:
    found: dict[int | None, dict] = {}
    for name in ("customers", "acts", "sales", "tasks"):
        for row in frames[name].to_pylist():
            found.setdefault(row.pop("owner_id"), {}).update(row)
    # None: an assignment event without a readable guide
    guides = [_guide(guide, values) for guide, values in found.items() if guide is not None]
    guides.sort(key=lambda g: (-g.gmv_fen, -g.customers, g.guide_id))
    return Result(guides=guides)


def _guide(guide_id: int, values: dict) -> Guide:
    counts = {
        field: int(values.get(field) or 0)
        for field in Guide.model_fields
        if field not in ("guide_id", "execution_rate")
    }
    assigned = counts["tasks_assigned"]
    executed = counts["tasks_executed"] / assigned if assigned else None
    return Guide(guide_id=guide_id, execution_rate=executed, **counts)


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
        _("Tasks assigned"),
        _("Tasks executed"),
        _("Execution rate"),
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
            g.tasks_assigned,
            g.tasks_executed,
            rate(g.execution_rate, 3),
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
    ] + _rates_chart(result, _, names)


def _rates_chart(result: Result, _, names: dict) -> list[dict]:
    """Execution rate (%) per guide given tasks, lowest first: whom to follow up with."""
    given = sorted(
        (g.execution_rate, g.guide_id) for g in result.guides if g.execution_rate is not None
    )[:20]
    if not given:
        return []
    labels = [names.get(str(guide), str(guide)) for _rate, guide in given]
    rates = [round(rate * 100, 1) for rate, _guide in given]
    option = bars(labels, [(_("Execution rate") + " (%)", rates)])
    value_axis = option["xAxis"] if option["xAxis"]["type"] == "value" else option["yAxis"]
    value_axis.update(max=100, axisLabel={"formatter": "{value}%"})
    return [{"title": _("Task execution rate of each guide"), "option": option}]


FILTERS = ("touchpoint", "touchpoint_type", "store", "guide")
FIELDS: tuple = ()


def form_query(params: dict[str, str], start, end) -> dict:
    return {"period": {"start": start, "end": end}}
