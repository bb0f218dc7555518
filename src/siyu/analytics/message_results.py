"""What a broadcast or a journey brought (触达效果): per arm (each A/B variant, and the holdout),
the customers planned, what reached them, and the orders, buyers and GMV within a window after.

A broadcast's arms come from the lake's `Message Planned` events (one per customer planned,
with the broadcast's id and the customer's variant, or "holdout" for those deliberately not sent
to); a journey's from its entries' own events (`Journey Entered` on, with the arm a holdout or
split step put the entry in), counted from entry whether a message went or not. So the
comparison is of everyone assigned to an arm: a message that failed still counts for its arm
(intention to treat), and the holdout is drawn from customers who could have been reached.
An order counts for a customer when it was paid within `window_days` after they were planned
(or entered), as every report counts orders (counted orders, net of refunds: base.paid_between).

Lift is the difference in conversion (buyers / customers) between the treated arms and the
holdout, with a 95 % confidence interval (normal approximation for a difference of two
proportions), and the GMV per customer difference times the treated customers: the GMV the
message made that would not have happened without it.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Literal

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from pydantic import BaseModel, Field

from siyu.analytics.base import ReportQuery, canonical, paid_between
from siyu.analytics.runner import Context
from siyu.core.engines import json_text_at
from siyu.core.lake_tables import Tables, during
from siyu.core.limits import RowId
from siyu.core.periods import Period

KIND = "message_results"
HOLDOUT = "holdout"
PLANNED = "Message Planned"
# A journey's arms are its entries', from their own events (journeys.service writes them).
JOURNEY_EVENTS = ("Journey Entered", "Journey Step Completed", "Journey Exited")
# What the lake says happened to each message, counted per arm as customers it happened to.
OUTCOMES = {
    "Message Sent": "sent",
    "Message Delivered": "delivered",
    "Message Failed": "failed",
    "Message Clicked": "clicked",
    "Message Replied": "replied",
}
Z95 = 1.959964


class Query(ReportQuery):
    origin: Literal["broadcast", "journey"]
    origin_id: RowId
    period: Period = Field(
        description="The brand's days from the first planned message (a journey: its first entry)"
        " to the end of the window."
    )
    window_days: int = Field(7, ge=1, le=90)


class Arm(BaseModel):
    arm: str
    customers: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    clicked: int = 0
    replied: int = 0
    buyers: int = 0
    orders: int = 0
    gmv_fen: int = 0

    @property
    def conversion(self) -> float:
        return self.buyers / self.customers if self.customers else 0.0

    @property
    def gmv_per_customer_fen(self) -> float:
        return self.gmv_fen / self.customers if self.customers else 0.0


class Lift(BaseModel):
    """Treated (every variant together) against the holdout."""

    treated_conversion: float
    holdout_conversion: float
    difference: float = Field(description="Conversion points gained (treated − holdout).")
    low: float = Field(description="The 95 % confidence interval's lower end.")
    high: float
    relative: float | None = Field(description="difference / holdout conversion.")
    incremental_gmv_fen: int = Field(
        description="(GMV per treated customer − per holdout customer) × treated customers."
    )


class Result(BaseModel):
    origin: str
    origin_id: int
    window_days: int
    arms: list[Arm]
    lift: Lift | None = Field(description="None without a holdout (or an empty arm).")


def build(query: Query, tables: Tables, context: Context) -> dict[str, ir.Table]:
    events = tables.events
    origin = json_text_at(events.properties, ("origin",))
    origin_id = json_text_at(events.properties, ("origin_id",))
    variant = json_text_at(events.properties, ("variant",))
    assert origin is not None and origin_id is not None and variant is not None
    mine = events.filter(
        *during(events, query.period.start, query.period.end),
        events.customer_id.notnull(),
        origin == query.origin,
        origin_id == str(query.origin_id),
    )
    if query.origin == "journey":
        assigned = _journey_arms(query, tables)
    else:
        planned = mine.filter(mine.event == PLANNED)
        assigned = planned.select("customer_id", at=planned.timestamp, arm=variant.fill_null("A"))
    assigned = canonical(assigned, tables.customer_map)
    arms = assigned.group_by("customer_id").aggregate(at=assigned.at.min(), arm=assigned.arm.min())
    happened = mine.filter(mine.event.isin(list(OUTCOMES)))
    happened = canonical(happened.select("customer_id", "event"), tables.customer_map)
    happened = happened.join(arms, "customer_id")
    outcomes = happened.group_by("arm", "event").aggregate(customers=happened.customer_id.nunique())
    since = ibis.literal(query.period.utc_bounds(context.zone)[0])
    until = ibis.literal(
        query.period.utc_bounds(context.zone)[1] + timedelta(days=query.window_days)
    )
    paid = paid_between(tables, since, until)
    sold = paid.join(arms, "customer_id")
    sold = sold.filter(
        sold.paid_at >= sold.at, sold.paid_at < sold.at + ibis.interval(days=query.window_days)
    )
    sales = sold.group_by("arm").aggregate(
        buyers=sold.customer_id.nunique(), orders=sold.count(), gmv_fen=sold.net_fen.sum()
    )
    sizes = arms.group_by("arm").aggregate(customers=arms.count())
    return {"sizes": sizes, "outcomes": outcomes, "sales": sales}


def _journey_arms(query: Query, tables: Tables) -> ir.Table:
    """A journey's entries: each customer from its `Journey Entered` on, in the arm its entry
    was put in (the holdout, a split's variant) or A, whether or not a message was planned."""
    events = tables.events
    journey_id = json_text_at(events.properties, ("journey_id",))
    entry_id = json_text_at(events.properties, ("entry_id",))
    arm = json_text_at(events.properties, ("arm",))
    assert journey_id is not None and entry_id is not None and arm is not None
    mine = events.filter(
        *during(events, query.period.start, query.period.end),
        events.customer_id.notnull(),
        events.event.isin(JOURNEY_EVENTS),
        journey_id == str(query.origin_id),
    )
    mine = mine.select("customer_id", "timestamp", entry=entry_id, arm=arm)
    entries = mine.group_by("entry").aggregate(
        customer_id=mine.customer_id.min(), at=mine.timestamp.min(), arm=mine.arm.max()
    )
    return entries.select("customer_id", "at", arm=entries.arm.fill_null("A"))


def shape(frames: dict[str, pa.Table], query: Query, context: Context) -> Result:
    arms: dict[str, Arm] = {}
    for row in frames["sizes"].to_pylist():
        arms[row["arm"]] = Arm(arm=row["arm"], customers=row["customers"])
    for row in frames["outcomes"].to_pylist():
        found = arms.setdefault(row["arm"], Arm(arm=row["arm"]))
        setattr(found, OUTCOMES[row["event"]], row["customers"])
    for row in frames["sales"].to_pylist():
        found = arms.setdefault(row["arm"], Arm(arm=row["arm"]))
        found.buyers, found.orders = row["buyers"], row["orders"]
        found.gmv_fen = int(row["gmv_fen"] or 0)
    ordered = sorted(arms.values(), key=lambda a: (a.arm == HOLDOUT, a.arm))
    return Result(
        origin=query.origin,
        origin_id=query.origin_id,
        window_days=query.window_days,
        arms=ordered,
        lift=lift(ordered),
    )


def lift(arms: list[Arm]) -> Lift | None:
    """Every variant together against the holdout, or None when either side is empty."""
    holdout = next((a for a in arms if a.arm == HOLDOUT), None)
    treated = [a for a in arms if a.arm != HOLDOUT]
    n1 = sum(a.customers for a in treated)
    if holdout is None or not holdout.customers or not n1:
        return None
    p1 = sum(a.buyers for a in treated) / n1
    n0, p0 = holdout.customers, holdout.conversion
    error = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    difference = p1 - p0
    per_treated = sum(a.gmv_fen for a in treated) / n1
    return Lift(
        treated_conversion=p1,
        holdout_conversion=p0,
        difference=difference,
        low=difference - Z95 * error,
        high=difference + Z95 * error,
        relative=difference / p0 if p0 else None,
        incremental_gmv_fen=round((per_treated - holdout.gmv_per_customer_fen) * n1),
    )
