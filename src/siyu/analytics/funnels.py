"""Funnels (漏斗): how many customers went through ordered steps within a conversion window.

A funnel starts at a customer's first-step event in the period. "ordered": each next step is
the earliest matching event strictly after the step before, and no later than the window after
the start (plain joins and min(); no ASOF join, which Ibis on Spark lacks). "any": a step counts
when a matching event lies anywhere in [start, start + window], in any order, the start being any
step's event. A step is reached by a customer when some start reaches it and every step before.
Only the customer's own events start a funnel (events/catalogue.py): a first step made only of
the brand's events (a message sent, a task) is refused. Exclusion events drop a start when the
customer did one inside its window. Time to convert is each converting customer's quickest
start-to-last-step time (ordered funnels).

Templates: AARRR (acquisition → activation → retention → revenue → referral, the growth view) and
RARRA (retention first, acquisition last: the private-domain view), over the events Siyu's demo
brand and WeCom/mall integrations send.
"""

from __future__ import annotations

from typing import Literal

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from pydantic import BaseModel, Field, field_validator, model_validator

from siyu.analytics.base import NO_TOUCHPOINT, ReportQuery, bounds, canonical, in_view, people
from siyu.analytics.present import Grouped, bars, named
from siyu.analytics.runner import Context
from siyu.core.engines import epoch_seconds
from siyu.core.i18n import N_
from siyu.core.lake_tables import Tables
from siyu.core.periods import Period
from siyu.events.catalogue import is_customer_act
from siyu.touchpoints.labels import GROUP_LABELS

KIND = "funnels"
TOTAL = "all"
# Seconds: under a minute, an hour, a day, a week; beyond.
TIME_BUCKETS = (60, 3_600, 86_400, 604_800)


class Step(BaseModel):
    label: str = ""
    events: tuple[str, ...] = Field(min_length=1)

    @property
    def customer_events(self) -> list[str]:
        """The step's events the customer does (not a message sent, a task, a coupon issued)."""
        return [event for event in self.events if is_customer_act(event)]


TEMPLATES: dict[str, tuple[Step, ...]] = {
    "aarrr": (
        Step(label="Acquisition", events=("QR Code Scanned", "Official Account Followed")),
        Step(label="Activation", events=("Contact Added", "Group Joined")),
        Step(label="Retention", events=("Product Viewed",)),
        Step(label="Revenue", events=("Order Completed",)),
        Step(label="Referral", events=("Referral Completed",)),
    ),
    "rarra": (
        Step(label="Retention", events=("Message Read", "Product Viewed")),
        Step(label="Activation", events=("Coupon Applied", "Group Joined")),
        Step(label="Referral", events=("Referral Completed",)),
        Step(label="Revenue", events=("Order Completed",)),
        Step(label="Acquisition", events=("QR Code Scanned",)),
    ),
}


class Query(ReportQuery):
    period: Period
    steps: tuple[Step, ...] = ()
    template: Literal["aarrr", "rarra"] | None = None
    order: Literal["ordered", "any"] = "ordered"
    window_hours: int = Field(168, ge=1, le=24 * 90)
    exclusions: tuple[str, ...] = ()
    breakdown: Literal["touchpoint", "touchpoint_type"] | None = None

    @field_validator("steps")
    @classmethod
    def _starts_with_the_customer(cls, steps: tuple[Step, ...]) -> tuple[Step, ...]:
        if steps and not steps[0].customer_events:
            raise ValueError(
                "the first step needs an event the customer does: "
                + ", ".join(steps[0].events)
                + " is the brand's or the system's (docs/events.md)"
            )
        return steps

    @model_validator(mode="after")
    def _steps(self) -> Query:
        if not self.steps and self.template:
            object.__setattr__(self, "steps", TEMPLATES[self.template])
        if not 2 <= len(self.steps) <= 10:
            raise ValueError("a funnel has 2 to 10 steps (or a template)")
        return self


class StepResult(BaseModel):
    label: str
    customers: int
    rate: float  # of the first step's customers
    step_rate: float  # of the step before's


class Row(BaseModel):
    key: str
    steps: list[StepResult]


class Result(BaseModel):
    order: str
    window_hours: int
    total: Row
    rows: list[Row]
    converted: int
    mean_seconds_to_convert: float | None
    time_to_convert: list[int]  # converting customers by TIME_BUCKETS, then beyond
    breakdown: str | None = None


def build(query: Query, tables: Tables, context: Context) -> dict[str, ir.Table]:
    since, until = bounds(query.period, context.zone)
    window = ibis.interval(hours=query.window_hours)
    if query.breakdown:
        crowd = people(tables, query.filters, query.period.end)
        crowd = crowd.select("customer_id", key=crowd[query.breakdown].cast("string"))
    else:
        crowd = in_view(tables, query.filters, query.period.end)
    events = tables.events
    wanted = sorted({e for step in query.steps for e in step.events} | set(query.exclusions))
    rows = events.filter(
        events.customer_id.notnull(),
        events.event.isin(wanted),
        events.timestamp >= since,
        events.timestamp < until + window,
    ).select("customer_id", "event", at=events.timestamp)
    rows = canonical(rows, tables.customer_map)
    if query.breakdown:
        rows = rows.join(crowd, "customer_id")
    else:
        rows = rows.filter(rows.customer_id.isin(crowd.customer_id)).mutate(key=ibis.literal(TOTAL))

    def step_rows(names) -> ir.Table:
        found = rows.filter(rows.event.isin(list(names)))
        return found.select(step_customer="customer_id", step_at="at").distinct()

    # A funnel starts with something the customer did: a message the brand sent starts nothing.
    if query.order == "ordered":
        first = rows.filter(rows.event.isin(query.steps[0].customer_events), rows.at < until)
    else:
        every = sorted({e for step in query.steps for e in step.customer_events})
        first = rows.filter(rows.event.isin(every), rows.at < until)
    starts = first.select("customer_id", "key", started="at").distinct()
    if query.exclusions:
        dropped = step_rows(query.exclusions)
        starts = starts.anti_join(
            dropped,
            [
                starts.customer_id == dropped.step_customer,
                dropped.step_at >= starts.started,
                dropped.step_at <= starts.started + window,
            ],
        )
    if query.order == "ordered":
        reached = _ordered(query, starts, step_rows, window)
    else:
        reached = _any_order(query, starts, step_rows, window)
    # One pass: customers per key and step and, at the last step of an ordered funnel, by how
    # quickly they got there (each customer's quickest start).
    last = len(query.steps) if query.order == "ordered" else 0
    took = epoch_seconds(reached.reached) - epoch_seconds(reached.started)
    per = reached.group_by("customer_id", "key", "step").aggregate(
        seconds=ibis.ifelse(reached.step == last, took, ibis.null("int64")).min()
    )
    bucket = ibis.cases(
        (per.seconds.isnull(), -1),
        *((per.seconds < limit, i) for i, limit in enumerate(TIME_BUCKETS)),
        else_=len(TIME_BUCKETS),
    )
    per = per.mutate(bucket=bucket)
    cells = per.group_by("key", "step", "bucket").aggregate(
        customers=per.count(), seconds=per.seconds.sum()
    )
    return {"cells": cells}


def _ordered(query: Query, starts: ir.Table, step_rows, window) -> ir.Table:
    chain = starts.mutate(reached=starts.started)
    found = [chain.select("customer_id", "key", "started", "reached", step=ibis.literal(1))]
    for number, step in enumerate(query.steps[1:], start=2):
        nxt = step_rows(step.events)
        joined = chain.join(
            nxt,
            [
                chain.customer_id == nxt.step_customer,
                nxt.step_at > chain.reached,
                nxt.step_at <= chain.started + window,
            ],
        )
        chain = joined.group_by("customer_id", "key", "started").aggregate(
            reached=joined.step_at.min()
        )
        found.append(chain.mutate(step=ibis.literal(number)))
    return ibis.union(*found, distinct=False)


def _any_order(query: Query, starts: ir.Table, step_rows, window) -> ir.Table:
    flagged = starts
    for number, step in enumerate(query.steps, start=1):
        rows = step_rows(step.events)
        hit = starts.join(
            rows,
            [
                starts.customer_id == rows.step_customer,
                rows.step_at >= starts.started,
                rows.step_at <= starts.started + window,
            ],
        )
        hit = hit.select("customer_id", "started").distinct().mutate(**{f"s{number}": True})
        kept = [*flagged.columns, f"s{number}"]
        flagged = flagged.left_join(hit, ["customer_id", "started"]).select(*kept)
    found = []
    held = ibis.literal(True)
    for number in range(1, len(query.steps) + 1):
        held = held & flagged[f"s{number}"].fill_null(False)
        kept = flagged.filter(held)
        found.append(
            kept.select(
                "customer_id", "key", "started", reached=kept.started, step=ibis.literal(number)
            )
        )
    return ibis.union(*found, distinct=False)


def shape(frames: dict[str, pa.Table], query: Query, context: Context) -> Result:
    counts: dict[str, dict[int, int]] = {}
    histogram = [0] * (len(TIME_BUCKETS) + 1)
    seconds = 0
    for row in frames["cells"].to_pylist():
        found = counts.setdefault(row["key"], {})
        found[row["step"]] = found.get(row["step"], 0) + row["customers"]
        if row["bucket"] >= 0:
            histogram[row["bucket"]] += row["customers"]
            seconds += row["seconds"]
    rows = [_row(key, found, query) for key, found in counts.items()]
    rows.sort(key=lambda r: (-r.steps[0].customers, r.key))
    totals: dict[int, int] = {}
    for found in counts.values():
        for step, n in found.items():
            totals[step] = totals.get(step, 0) + n
    converted = sum(histogram)
    return Result(
        order=query.order,
        window_hours=query.window_hours,
        total=_row(TOTAL, totals, query),
        rows=rows if query.breakdown else [],
        converted=converted if query.order == "ordered" else totals.get(len(query.steps), 0),
        mean_seconds_to_convert=seconds / converted if converted else None,
        time_to_convert=histogram,
        breakdown=query.breakdown,
    )


def _row(key: str, found: dict[int, int], query: Query) -> Row:
    steps, first, before = [], found.get(1, 0), found.get(1, 0)
    for number, step in enumerate(query.steps, start=1):
        n = found.get(number, 0)
        label = step.label or " / ".join(step.events)
        steps.append(
            StepResult(
                label=label,
                customers=n,
                rate=n / first if first else 0.0,
                step_rate=n / before if before else 0.0,
            )
        )
        before = n
    return Row(key=key, steps=steps)


def table(result: Result, _, names=None) -> tuple[list[str], list[list]]:
    headers = [_("Breakdown"), *(_(s.label) for s in result.total.steps)]
    rows = []
    for row in [result.total, *result.rows]:
        rows.append(
            [
                _label(row.key, result, _, names),
                *(
                    Grouped(f"{s.customers} ({s.rate:.1%})", f"{s.customers:,} ({s.rate:.1%})")
                    for s in row.steps
                ),
            ]
        )
    return headers, rows


def _label(key: str, result: Result, _, names) -> str:
    if key == TOTAL:
        return _("All")
    if key == NO_TOUCHPOINT:
        return _("No touchpoint")
    if result.breakdown == "touchpoint":
        return named("touchpoint", key, names)
    if result.breakdown == "touchpoint_type" and key in GROUP_LABELS:
        return _(GROUP_LABELS[key])
    return key


def notes(result: Result, _) -> list[str]:
    """Why an ordered funnel shows no time to convert: nobody reached its last step."""
    if result.order != "ordered" or result.converted:
        return []
    last = _(result.total.steps[-1].label)
    return [
        _(
            "No customer reached the last step (%(step)s) within the window, so there is no time "
            "to convert to show."
        )
        % {"step": last}
    ]


def charts(result: Result, _) -> list[dict]:
    steps = result.total.steps
    labels = [_(s.label) for s in steps]
    found = [
        {
            "title": _("Customers at each step"),
            "option": {
                "tooltip": {"trigger": "item"},
                "series": [
                    {
                        "type": "funnel",
                        "sort": "none",
                        "left": "10%",
                        "width": "80%",
                        "label": {"formatter": "{b}: {c}"},
                        "data": [
                            {
                                "name": label,
                                "value": s.customers,
                                "label": {"formatter": f"{label}: {s.customers:,}"},
                            }
                            for label, s in zip(labels, steps, strict=True)
                        ],
                    }
                ],
            },
        }
    ]
    if result.order == "ordered" and result.converted:
        names = [_("< 1 minute"), _("< 1 hour"), _("< 1 day"), _("< 1 week"), _("Longer")]
        found.append(
            {
                "title": _("Time to convert"),
                "option": bars(names, [(_("Customers"), result.time_to_convert)]),
            }
        )
    return found


FILTERS = ("touchpoint", "touchpoint_type", "store", "guide")
FIELDS = (
    {
        "name": "template",
        "label": N_("Template"),
        "default": "aarrr",
        "choices": [("aarrr", N_("AARRR")), ("rarra", N_("RARRA")), ("custom", N_("My steps"))],
    },
    {"name": "steps", "label": N_("Steps (events, comma between)"), "width": "22em"},
    {
        "name": "order",
        "label": N_("Step order"),
        "default": "ordered",
        "choices": [("ordered", N_("In this order")), ("any", N_("Any order"))],
    },
    {
        "name": "window_hours",
        "label": N_("Window (hours)"),
        "default": "168",
        "type": "number",
        "width": "6em",
    },
    {"name": "exclusions", "label": N_("Exclude (events)"), "width": "12em"},
    {
        "name": "breakdown",
        "label": N_("Break down by"),
        "choices": [
            ("", N_("Nothing")),
            ("touchpoint", N_("Touchpoint")),
            ("touchpoint_type", N_("Touchpoint type")),
        ],
    },
)
STEP_LABELS = (
    N_("Acquisition"),
    N_("Activation"),
    N_("Retention"),
    N_("Revenue"),
    N_("Referral"),
)


def form_query(params: dict[str, str], start, end) -> dict:
    query: dict = {"period": {"start": start, "end": end}}
    names = [n.strip() for n in (params.get("steps") or "").split(",") if n.strip()]
    if params.get("template") == "custom" and names:
        query["steps"] = [{"events": [name]} for name in names]
    else:
        query["template"] = params.get("template") if params.get("template") == "rarra" else "aarrr"
    if params.get("order") in ("ordered", "any"):
        query["order"] = params["order"]
    if (params.get("window_hours") or "").isdecimal():
        query["window_hours"] = int(params["window_hours"])
    exclusions = [n.strip() for n in (params.get("exclusions") or "").split(",") if n.strip()]
    if exclusions:
        query["exclusions"] = exclusions
    if params.get("breakdown") in ("touchpoint", "touchpoint_type"):
        query["breakdown"] = params["breakdown"]
    return query
