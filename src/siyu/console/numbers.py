"""Per-code and per-touchpoint numbers as the code and touchpoint pages show them: the
`touchpoints` report (analytics/touchpoint_numbers.py, which says what each number counts) run
through the report runner, so the pages agree with the reports and run on Spark too."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from siyu.analytics import runner, touchpoint_numbers
from siyu.core.periods import Period

COLUMNS = ("scans", "contacts", "deletions", "orders", "gmv_fen")


class Numbers(touchpoint_numbers.Counts):
    """A key's numbers in the period; with one key asked for, also day by day."""

    daily: dict[date, list[int]] = Field(default_factory=dict)

    def add(self, found: touchpoint_numbers.Numbers) -> None:
        if found.day is not None:
            self.daily[found.day] = [getattr(found, name) for name in COLUMNS]
        for name in touchpoint_numbers.Counts.model_fields:
            setattr(self, name, getattr(self, name) + getattr(found, name))

    def series(self, period: Period) -> dict[str, list[int]]:
        days = [self.daily.get(d, [0] * len(COLUMNS)) for d in period.dates()]
        return {name: [row[i] for row in days] for i, name in enumerate(COLUMNS)}


def numbers(period: Period, by: str = "code", key: str | None = None) -> dict[str, Numbers]:
    """key → its numbers in the period (one key's also day by day); one key or all."""
    query = touchpoint_numbers.Query(period=period, by=by, key=key)
    found: dict[str, Numbers] = {}
    for row in runner.run(touchpoint_numbers, query).result.rows:
        found.setdefault(row.key, Numbers()).add(row)
    return found
