"""What every report shares: its filters, the customers in view, and counted orders."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
from pydantic import BaseModel, ConfigDict, Field

from siyu.core.lake_tables import Tables, during
from siyu.core.limits import RowId
from siyu.core.periods import Period, day_start_utc
from siyu.events.catalogue import TRACK, customer_calls, not_customer_events

# A fully refunded order is not a purchase; a partly refunded one counts at its net amount.
COUNTED_STATUSES = ("completed", "partially_refunded")
NO_TOUCHPOINT = "none"


class Stages(BaseModel):
    """The days that separate lifecycle stages, for a segment's lifecycle conditions."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    new_days: int = Field(ge=1)
    active_days: int = Field(ge=1)
    churned_days: int = Field(ge=1)


class Filters(BaseModel):
    """Which customers a report counts. Each names a customer's profile as the lake has it:
    the touchpoint that acquired them (first touchpoint), its type (group), their store and the
    guide (导购) who owns them; a segment is a rule (docs/segments.md) held at the period's end.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    touchpoint: tuple[str, ...] = ()
    touchpoint_type: tuple[str, ...] = ()
    store: tuple[RowId, ...] = ()
    guide: tuple[RowId, ...] = ()
    segment: dict[str, Any] | None = None
    lifecycle: Stages | None = Field(
        None,
        description="The lifecycle days the segment's conditions use (a saved segment named by "
        "key: the brand's settings); default: SIYU_LIFECYCLE_* or 30 / 90 / 180.",
    )


def bounds(period: Period, zone: str) -> tuple[ir.TimestampScalar, ir.TimestampScalar]:
    """[first instant, first instant after) of the period in UTC, as literals."""
    since, until = period.utc_bounds(zone)
    return ibis.literal(since), ibis.literal(until)


class ReportQuery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    filters: Filters = Field(default_factory=Filters)


def canonical(rows: ir.Table, customer_map: ir.Table) -> ir.Table:
    """Rows re-keyed by the customer each id belongs to today (merges followed)."""
    joined = rows.left_join(customer_map, rows.customer_id == customer_map.customer_id)
    customer = ibis.coalesce(joined.canonical_id, joined.customer_id)
    # One column per drop(): a drop of two lists them in a different order on each run.
    return joined.mutate(customer_id=customer).drop("customer_id_right").drop("canonical_id")


def people(tables: Tables, filters: Filters, as_of: date | None = None) -> ir.Table:
    """The canonical customers in view, with their acquisition touchpoint, its type and entry
    type, their store and guide."""
    customers, points = tables.customers, tables.touchpoints
    kept = customers.filter(customers.merged_into_id.isnull())
    joined = kept.left_join(points, kept.first_touchpoint == points.code)
    none = ibis.literal(NO_TOUCHPOINT)
    rows = joined.select(
        "customer_id",
        "first_seen_at",
        "created_at",
        "owner_id",
        "store_id",
        touchpoint=joined.first_touchpoint.fill_null(none),
        touchpoint_type=ibis.ifelse(
            joined.first_touchpoint.isnull(), none, joined.group.fill_null("other")
        ),
        entry_type=ibis.ifelse(
            joined.first_touchpoint.isnull(), none, joined.entry_type.fill_null("owned")
        ),
    )
    return _kept(rows, tables, filters, as_of)


def in_view(tables: Tables, filters: Filters, as_of: date | None = None) -> ir.Table:
    """customer_id of the customers in view: `people` for a report that only counts them (a
    semi-join), without the touchpoint join unless a touchpoint type is filtered on."""
    if filters.touchpoint_type:
        return people(tables, filters, as_of).select("customer_id")
    customers = tables.customers
    kept = customers.filter(customers.merged_into_id.isnull())
    rows = kept.select(
        "customer_id",
        "owner_id",
        "store_id",
        touchpoint=kept.first_touchpoint.fill_null(ibis.literal(NO_TOUCHPOINT)),
    )
    return _kept(rows, tables, filters, as_of).select("customer_id")


def _kept(rows: ir.Table, tables: Tables, filters: Filters, as_of: date | None) -> ir.Table:
    kept_if = [
        (filters.touchpoint, "touchpoint"),
        (filters.touchpoint_type, "touchpoint_type"),
        (filters.store, "store_id"),
        (filters.guide, "owner_id"),
    ]
    conditions = [rows[column].isin(list(values)) for values, column in kept_if if values]
    if conditions:
        rows = rows.filter(*conditions)
    if filters.segment is not None:
        members = segment_members(tables, filters.segment, as_of, filters.lifecycle)
        rows = rows.filter(rows.customer_id.isin(members))
    return rows


def segment_members(
    tables: Tables, rule: dict, as_of: date | None, stages: Stages | None = None
) -> ir.Column:
    """The canonical customers a segment rule holds for at the end of `as_of` (brand's day)."""
    from siyu.core.settings import get_settings
    from siyu.segments.compile import members_expr
    from siyu.segments.lifecycle import LifecycleThresholds
    from siyu.segments.rules import parse_rule

    zone = get_settings().timezone
    moment = day_start_utc((as_of or date.today()) + timedelta(days=1), zone)
    thresholds = LifecycleThresholds(**stages.model_dump()) if stages else None
    return members_expr(parse_rule(rule), tables, moment, thresholds).customer_id


def customer_events(tables: Tables) -> ir.Table:
    """The events the customer did: what visitors, active customers, last visit and funnels'
    entry steps count. A message sent, a task, a coupon issued is the brand's and moves none
    of them (events/catalogue.py)."""
    events = tables.events
    is_track = events.type == TRACK
    return events.filter(
        (is_track & events.event.notin(not_customer_events())) | events.type.isin(customer_calls())
    )


def counted_orders(tables: Tables) -> ir.Table:
    """Counted orders by canonical customer: order_id, customer_id, paid_at, net_fen, store,
    touchpoint, products."""
    return canonical(counted_rows(tables), tables.customer_map)


def counted_rows(tables: Tables) -> ir.Table:
    """counted_orders as stored, merges not followed: for what does not depend on who bought."""
    orders = tables.orders
    kept = orders.filter(
        orders.customer_id.notnull(),
        orders.paid_at.notnull(),
        orders.status.isin(COUNTED_STATUSES),
    )
    net = kept.amount_fen.fill_null(0) - kept.refunded_fen.fill_null(0)
    return kept.select(
        "order_id", "customer_id", "paid_at", "store", "touchpoint", "products", net_fen=net
    )


def paid_between(tables: Tables, since: ir.TimestampValue, until: ir.TimestampValue) -> ir.Table:
    """counted_orders paid in [since, until): what orders, buyers and GMV count everywhere."""
    orders = counted_orders(tables)
    return orders.filter(orders.paid_at >= since, orders.paid_at < until)


def visits(tables: Tables, period: Period, zone: str) -> ir.Table:
    """customer_id (canonical), at: what the customers did in the period, their own events and
    their counted orders. A customer with any is a visitor (an active customer); what the brand
    did to them (a message, a task) is not a visit."""
    since, until = bounds(period, zone)
    events = customer_events(tables)
    seen = events.filter(
        *during(events, period.start, period.end),
        events.customer_id.notnull(),
        events.timestamp >= since,
        events.timestamp < until,
    )
    seen = canonical(seen.select("customer_id", at=seen.timestamp), tables.customer_map)
    paid = paid_between(tables, since, until)
    return seen.union(paid.select("customer_id", at=paid.paid_at), distinct=False)


def in_period(rows: ir.Table, column: str, period: Period, zone: str) -> ir.Table:
    since, until = bounds(period, zone)
    return rows.filter(rows[column] >= since, rows[column] < until)
