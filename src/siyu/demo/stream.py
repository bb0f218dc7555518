"""The demo's event stream: every customer's steps in time order, in batches, in bounded memory.

A calendar holds, per day, one packed integer per customer who has a step due that day (its time
of day, kind, step number and customer index). A day's entries are sorted and run; each step
schedules the customer's next one. Profiles are recomputed from the seed, so memory grows with
the customers active at once (8 bytes each), never with the events generated.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from siyu.demo.people import People
from siyu.demo.steps import ARRIVAL, MAX_STEP, Journey, Key
from siyu.demo.timeline import Timeline

MAX_CUSTOMERS = 2**30 - 1


@dataclass(frozen=True)
class Plan:
    """What to build: how many customers over how many days ending when, from which seed."""

    end_date: date
    customers: int = 20_000
    days: int = 365
    seed: int = 1
    zone: ZoneInfo = ZoneInfo("Asia/Shanghai")
    batch_size: int = 1000

    def timeline(self, now: datetime) -> Timeline:
        return Timeline(self.end_date, self.days, self.zone, now)


@dataclass
class Batch:
    """Whole steps (never split), about `batch_size` messages; `day` is the day being generated."""

    day: int
    messages: list[dict] = field(default_factory=list)
    owners: list[tuple[Key, str]] = field(default_factory=list)


def _pack(second: int, kind: int, step: int, index: int) -> int:
    return (second << 44) | (kind << 42) | (step << 30) | index


def _unpack(entry: int) -> tuple[int, int, int, int]:
    return entry >> 44, (entry >> 42) & 0b11, (entry >> 30) & 0xFFF, entry & MAX_CUSTOMERS


def generate(plan: Plan, now: datetime) -> Iterator[Batch]:
    """Yield the demo's messages in batches, day by day; nothing after `now` is generated."""
    timeline = plan.timeline(now)
    people = People(plan.seed, plan.customers, timeline)
    calendar: dict[int, array] = {}
    arrived = 0
    batch = Batch(0)
    for day in range(timeline.days):
        due = calendar.pop(day, array("q"))
        arrived = _add_arrivals(people, day, due, arrived)
        for entry in sorted(due):
            second, kind, step_number, index = _unpack(entry)
            step = Journey(people, people.profile(index), kind, step_number, day, second).run()
            _schedule(calendar, step.next, step_number, index, timeline.days)
            batch.messages += step.messages
            batch.owners += step.owners
            if len(batch.messages) >= plan.batch_size:
                yield batch
                batch = Batch(day)
    if batch.messages:
        yield batch


def _add_arrivals(people: People, day: int, due: array, arrived: int) -> int:
    """Put every customer whose arrival day this is into the day's entries."""
    while arrived < people.count:
        arrival_day, second = people.arrival(arrived)
        if arrival_day != day:
            break
        due.append(_pack(second, ARRIVAL, 0, arrived))
        arrived += 1
    return arrived


def _schedule(calendar: dict[int, array], next_step, step_number: int, index: int, days: int):
    if next_step is None or next_step.day >= days or step_number >= MAX_STEP:
        return
    entries = calendar.setdefault(next_step.day, array("q"))
    entries.append(_pack(next_step.second, next_step.kind, step_number + 1, index))
