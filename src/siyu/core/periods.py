"""A period of the brand's days, what every report and page is asked for."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, model_validator

from siyu.core.limits import MAX_DAYS, Day


class Period(BaseModel):
    """The brand's days from `start` to `end`, both included."""

    model_config = ConfigDict(frozen=True)

    start: Day
    end: Day

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end < self.start:
            raise ValueError("the period ends before it starts")
        if self.days > MAX_DAYS:
            raise ValueError(f"the period is longer than {MAX_DAYS} days")
        return self

    @classmethod
    def ending(cls, end: date, days: int) -> Period:
        """The `days` days up to and including `end`."""
        return cls(start=end - timedelta(days=days - 1), end=end)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous(self) -> Period:
        """The as many days just before."""
        start, end = self.start - timedelta(days=self.days), self.start - timedelta(1)
        return Period.model_construct(start=start, end=end)  # may begin before FIRST_DAY

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range(self.days)]

    def utc_bounds(self, zone: str) -> tuple[datetime, datetime]:
        """[first instant, first instant after) of the period, in UTC."""
        return day_start_utc(self.start, zone), day_start_utc(self.end + timedelta(1), zone)


def day_start_utc(day: date, zone: str) -> datetime:
    """The first instant of the brand's day, in UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone)).astimezone(UTC)
