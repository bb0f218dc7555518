"""Per-code and per-touchpoint numbers as the code and touchpoint pages show them: the
`touchpoints` report (analytics/touchpoint_numbers.py, which says what each number counts) run
through the report runner, so the pages agree with the reports and run on Spark too."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from siyu.analytics import runner, touchpoint_numbers
from siyu.core.periods import Period

COLUMNS = ("scans", "contacts", "deletions", "orders", "gmv_fen")


@dataclass
class Numbers:
    new_customers: int = 0
    scans: int = 0
    contacts: int = 0
    deletions: int = 0
    orders: int = 0
    gmv_fen: int = 0
    daily: dict[date, list[int]] = field(default_factory=dict)

    @property
    def contact_rate(self) -> float | None:
        """New contacts per scan (None without scans)."""
        return self.contacts / self.scans if self.scans else None

    def add(self, found: touchpoint_numbers.Numbers) -> None:
        if found.day is not None:
            self.daily[found.day] = [getattr(found, name) for name in COLUMNS]
        for name in ("new_customers", *COLUMNS):
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
