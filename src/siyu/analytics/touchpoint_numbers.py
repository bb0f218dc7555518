"""What each touchpoint or channel code (渠道活码) brought in a period: the touchpoints and code
pages' numbers, counted once here.

Each is counted on its own:
- scans: `QR Code Scanned` events carrying the key; new contacts: `Contact Added` events carrying
  it (a code's key is the event's `code`, else its touchpoint, which is also a code's default);
- the customers a key brought: for a touchpoint, those it acquired (their first touchpoint, as
  every report's touchpoint filter and breakdown reads it); for a code, those whose first scan or
  add named it. Of them: new customers (first seen in the period), deletions (`Contact Deleted` in
  the period), and orders and GMV paid in the period (counted orders, net of refunds, as in the
  GMV report).
Scans count events and new customers count people, so a touchpoint whose customers scan again,
or whose scanners were already customers, shows more scans than new customers.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

import ibis.expr.types as ir
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from siyu.analytics.base import bounds, canonical, customer_events, paid_between
from siyu.analytics.runner import Context
from siyu.analytics.zones import bucket_start, local_day
from siyu.core.engines import json_text_at
from siyu.core.lake_tables import Tables
from siyu.core.periods import Period

KIND = "touchpoints"
SCANNED, ADDED, DELETED = "QR Code Scanned", "Contact Added", "Contact Deleted"


class Query(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    period: Period
    by: Literal["touchpoint", "code"] = "touchpoint"
    key: str | None = Field(None, description="One touchpoint or code: its numbers day by day.")


class Counts(BaseModel):
    """What a key brought (the module's docstring says what each counts)."""

    new_customers: int = 0
    scans: int = 0
    contacts: int = 0
    deletions: int = 0
    orders: int = 0
    gmv_fen: int = 0

    @property
    def contact_rate(self) -> float | None:
        """New contacts per scan (None without scans)."""
        return self.contacts / self.scans if self.scans else None


class Numbers(Counts):
    key: str
    day: date | None = None  # set on the rows of one key's days


class Result(BaseModel):
    period: Period
    by: str
    rows: list[Numbers]  # per key; with `key`, per day of that key


def build(query: Query, tables: Tables, context: Context) -> dict[str, ir.Table]:
    zone = context.zone
    since, until = bounds(query.period, zone)
    events = customer_events(tables)
    marked = events.filter(
        events.customer_id.notnull(),
        events.event.isin([SCANNED, ADDED, DELETED]),
        events.timestamp < until,
    )
    marked = canonical(
        marked.select("customer_id", "event", "timestamp", key=_key(marked, query.by)),
        tables.customer_map,
    )
    brought = _brought(query, tables, marked)
    if query.key is not None:
        brought = brought.filter(brought.key == query.key)

    def by_key(moment: ir.TimestampValue) -> list:
        return ["key", local_day(moment, zone).name("day")] if query.key is not None else ["key"]

    marked = marked.filter(marked.timestamp >= since)
    shown = marked.filter(marked.key.notnull(), marked.event != DELETED)
    if query.key is not None:
        shown = shown.filter(shown.key == query.key)
    counts = shown.group_by(by_key(shown.timestamp)).aggregate(
        scans=(shown.event == SCANNED).sum(), contacts=(shown.event == ADDED).sum()
    )
    arrived = brought.filter(brought.first_seen_at >= since, brought.first_seen_at < until)
    new = arrived.group_by(by_key(arrived.first_seen_at)).aggregate(new_customers=arrived.count())
    lost = marked.filter(marked.event == DELETED).drop("key").join(brought, "customer_id")
    deletions = lost.group_by(by_key(lost.timestamp)).aggregate(deletions=lost.count())
    sold = paid_between(tables, since, until).join(brought, "customer_id")
    sales = sold.group_by(by_key(sold.paid_at)).aggregate(
        orders=sold.count(), gmv_fen=sold.net_fen.sum()
    )
    return {"counts": counts, "new": new, "deletions": deletions, "sales": sales}


def _key(events: ir.Table, by: str) -> ir.StringValue:
    if by == "touchpoint":
        return events.touchpoint
    code = json_text_at(events.properties, ("code",))
    if code is None:  # only a path that needs quoting has none, and "code" needs none
        raise ValueError("the code's JSON path cannot be read in one pass")
    return code.fill_null(events.touchpoint)


def _brought(query: Query, tables: Tables, marked: ir.Table) -> ir.Table:
    """customer_id, key, first_seen_at: the touchpoint that acquired each customer, or the code
    they first scanned or added through."""
    customers = tables.customers
    kept = customers.filter(customers.merged_into_id.isnull())
    if query.by == "touchpoint":
        kept = kept.filter(kept.first_touchpoint.notnull())
        return kept.select("customer_id", "first_seen_at", key=kept.first_touchpoint)
    arrivals = marked.filter(marked.key.notnull(), marked.event != DELETED)
    firsts = arrivals.group_by("customer_id").aggregate(key=arrivals.key.argmin(arrivals.timestamp))
    return firsts.join(kept.select("customer_id", "first_seen_at"), "customer_id")


def shape(frames: dict[str, pa.Table], query: Query, context: Context) -> Result:
    found: dict[tuple, Numbers] = {}
    for frame in frames.values():
        for row in frame.to_pylist():
            day = bucket_start(row.pop("day"), "day") if "day" in row else None
            numbers = found.setdefault((row["key"], day), Numbers(key=row["key"], day=day))
            for name, value in row.items():
                if name != "key":
                    setattr(numbers, name, int(value or 0))
    rows = sorted(found.values(), key=lambda n: (n.key, n.day or date.min))
    return Result(period=query.period, by=query.by, rows=rows)
