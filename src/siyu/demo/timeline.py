"""The demo's calendar: weekly rhythm, tea seasons, 618 and Double 11 peaks, hours of the day."""

from __future__ import annotations

import bisect
import itertools
import math
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAY = (0.85, 0.85, 0.9, 0.95, 1.1, 1.35, 1.3)  # Monday first; weekends sell the most tea
MONTH = (0.8, 0.75, 0.9, 1.0, 1.1, 1.2, 1.3, 1.3, 1.1, 1.0, 0.95, 0.9)  # iced drinks in summer
HOURS = (0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 5, 7, 10, 9, 9, 10, 9, 8, 7, 8, 7, 5, 3, 1)
HOUR_CUMULATIVE = tuple(itertools.accumulate(HOURS))
DAY_SECONDS = 86_400


def campaign(day: date) -> str | None:
    """The shopping festival running on this day, if any (presale weeks included)."""
    if day.month == 6 and day.day <= 18:
        return "618"
    if (day.month == 10 and day.day >= 24) or (day.month == 11 and day.day <= 11):
        return "double11"
    if day.month == 12 and day.day == 12:
        return "double12"
    if day.month == 5 and day.day == 20:
        return "520"
    return None


def peak(day: date) -> float:
    """How much busier than usual a festival day is; the festival day itself is the summit."""
    summits = {
        (6, 18): 3.0,
        (6, 17): 1.8,
        (11, 11): 4.0,
        (11, 10): 1.8,
        (12, 12): 1.8,
        (5, 20): 1.6,
    }
    if (day.month, day.day) in summits:
        return summits[(day.month, day.day)]
    return 1.3 if campaign(day) in ("618", "double11") else 1.0


def day_factor(day: date) -> float:
    return WEEKDAY[day.weekday()] * MONTH[day.month - 1] * peak(day)


class Timeline:
    """The `days` days ending on `end_date` in the brand's zone, cut off at `now`."""

    def __init__(self, end_date: date, days: int, zone: ZoneInfo, now: datetime):
        self.days, self.zone = days, zone
        self.start = end_date - timedelta(days=days - 1)
        end_of_period = datetime.combine(end_date + timedelta(days=1), time(), zone)
        self.cutoff = min(end_of_period, now)
        self.factors = [day_factor(self.date(d)) for d in range(days)]
        self.busiest = max(self.factors)
        self._arrival_cdf = self._arrivals()

    def date(self, index: int) -> date:
        return self.start + timedelta(days=index)

    def instant(self, index: int, second: int) -> datetime:
        midnight = datetime.combine(self.date(index), time(), self.zone)
        return midnight + timedelta(seconds=second)

    def _arrivals(self) -> list[float]:
        """Where each day ends in the cumulative share of new customers.

        The brand grows over the period, and in its first weeks the stores' regulars join the
        newly launched private domain (a launch wave).
        """
        span = max(self.days - 1, 1)
        weights = [
            f * (0.6 + 0.8 * d / span + 1.5 * math.exp(-d / 20)) for d, f in enumerate(self.factors)
        ]
        total = sum(weights)
        return [w / total for w in itertools.accumulate(weights)]

    def arrival_day(self, quantile: float) -> int:
        return min(bisect.bisect_right(self._arrival_cdf, quantile), self.days - 1)

    def share_between(self, first: int, last: int) -> float:
        """The share of all new customers who arrive on days first..last (inclusive)."""
        before = self._arrival_cdf[first - 1] if first > 0 else 0.0
        return self._arrival_cdf[last] - before

    def last_day_seconds(self) -> int:
        """How much of the last day has happened by the cutoff (all of it for a past day)."""
        elapsed = self.cutoff - self.instant(self.days - 1, 0)
        return max(1, min(DAY_SECONDS, int(elapsed.total_seconds())))
