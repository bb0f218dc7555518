"""What crosses the segments API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from siyu.core.limits import Text, Text40, Text64, Text200

# Bought twice in the last 30 days, or tagged vip.
EXAMPLE = {
    "or": [{"event": "Order Completed", "within_days": 30, "count": {"gte": 2}}, {"tag": "vip"}]
}


class SegmentIn(BaseModel):
    key: Text64 = Field(description="Lower-case letters, digits, - or _; how rules name it.")
    name: Text200
    description: Text = Field("", description="What it is for, for the rest of the team.")
    rule: dict[str, Any] = Field(description="A rule as in docs/segments.md.", examples=[EXAMPLE])
    schedule: Text40 = Field("daily", description="manual, hourly or daily")


class SegmentChange(BaseModel):
    """What a PUT may change; the key is how other rules name the segment, so it never does."""

    model_config = ConfigDict(extra="forbid")

    name: Text200 | None = None
    description: Text | None = None
    rule: dict[str, Any] | None = None
    schedule: Text40 | None = None


class RuleIn(BaseModel):
    rule: dict[str, Any] = Field(examples=[EXAMPLE])
    as_of: Text40 | None = Field(None, description="A date or time; default now.")


class RefreshOut(BaseModel):
    id: int
    status: str
    progress: int
    member_count: int | None = None
    entered: int | None = None
    exited: int | None = None
    finished_at: datetime | None = None


class SegmentOut(BaseModel):
    key: str
    name: str
    description: str
    rule: dict[str, Any]
    schedule: str
    member_count: int | None
    refreshed_at: datetime | None
    next_refresh_at: datetime | None
    created_at: datetime


def segment_out(segment) -> SegmentOut:
    return SegmentOut.model_validate(segment, from_attributes=True)


def refresh_out(run) -> RefreshOut:
    return RefreshOut.model_validate(run, from_attributes=True)
