"""A journey's steps as the lake saw them (旅程步骤): per step, the entries that completed it and
the entries that exited there, from the `Journey Step Completed` and `Journey Exited` events (each
names its entry and its step), and every entry that reached the step either way.

The customers still inside a step are the journeys table's (the console adds them): the lake
records what happened, not who is waiting now.
"""

from __future__ import annotations

import ibis.expr.types as ir
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from siyu.analytics.runner import Context
from siyu.core.engines import json_text_at
from siyu.core.lake_tables import Tables, during
from siyu.core.limits import RowId
from siyu.core.periods import Period

KIND = "journey_steps"
COMPLETED = "Journey Step Completed"
EXITED = "Journey Exited"


class Query(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    journey_id: RowId
    period: Period = Field(description="The brand's days from the journey's creation to today.")


class StepCounts(BaseModel):
    step: str
    reached: int = Field(0, description="Entries that completed the step or exited there.")
    completed: int = 0
    exited: int = 0


class Result(BaseModel):
    journey_id: int
    steps: list[StepCounts]


def build(query: Query, tables: Tables, context: Context) -> dict[str, ir.Table]:
    events = tables.events
    journey_id = json_text_at(events.properties, ("journey_id",))
    step = json_text_at(events.properties, ("step",))
    entry_id = json_text_at(events.properties, ("entry_id",))
    assert journey_id is not None and step is not None and entry_id is not None
    mine = events.filter(
        *during(events, query.period.start, query.period.end),
        events.event.isin([COMPLETED, EXITED]),
        journey_id == str(query.journey_id),
        step.notnull(),
    )
    mine = mine.select("event", step=step, entry_id=entry_id)
    by_event = mine.group_by("step", "event").aggregate(entries=mine.entry_id.nunique())
    reached = mine.group_by("step").aggregate(entries=mine.entry_id.nunique())
    return {"by_event": by_event, "reached": reached}


def shape(frames: dict[str, pa.Table], query: Query, context: Context) -> Result:
    steps: dict[str, StepCounts] = {}
    for row in frames["reached"].to_pylist():
        steps[row["step"]] = StepCounts(step=row["step"], reached=row["entries"])
    for row in frames["by_event"].to_pylist():
        found = steps.setdefault(row["step"], StepCounts(step=row["step"]))
        if row["event"] == COMPLETED:
            found.completed = row["entries"]
        else:
            found.exited = row["entries"]
    return Result(journey_id=query.journey_id, steps=sorted(steps.values(), key=lambda s: s.step))
