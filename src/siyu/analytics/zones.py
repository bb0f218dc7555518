"""The brand's local time as Ibis expressions that every engine computes the same way.

Engines disagree on time zones (DuckDB's session zone, Spark's), so no report leans on one: the
session stays in UTC and a local moment is the UTC epoch plus the zone's offset at that instant,
a CASE over the zone's transitions (none for Asia/Shanghai since 1991; two a year where daylight
saving applies).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir

from siyu.core.engines import epoch_seconds

FIRST_YEAR, LAST_YEAR = 2000, 2040
DAY = 86_400
UNITS = ("day", "week", "month")


@cache
def transitions(zone: str) -> tuple[int, tuple[tuple[int, int], ...]]:
    """(offset before the first change, ((epoch second of a change, offset from then), …))."""
    tz = ZoneInfo(zone)
    moment = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
    offset = _offset(tz, moment)
    first, changes = offset, []
    end = datetime(LAST_YEAR, 1, 1, tzinfo=UTC)
    while moment < end:
        following = moment + timedelta(hours=6)
        if _offset(tz, following) != offset:
            low, high = moment, following  # the change lies in (low, high]: find its second
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if _offset(tz, middle) == offset else (low, middle)
            offset = _offset(tz, high)
            changes.append((int(high.timestamp()), offset))
        moment = following
    return first, tuple(changes)


def _offset(tz: ZoneInfo, moment: datetime) -> int:
    offset = moment.astimezone(tz).utcoffset()
    if offset is None:  # an aware time always has one
        raise ValueError(f"{tz} gives {moment} no UTC offset")
    return int(offset.total_seconds())


def local_seconds(moment: ir.TimestampValue, zone: str) -> ir.IntegerValue:
    """Seconds since 1970-01-01 00:00 on the brand's wall clock."""
    epoch = epoch_seconds(moment)
    first, changes = transitions(zone)
    if not changes:
        return epoch + first
    offsets = [first, *(offset for _, offset in changes)]
    cases = [(epoch < at, offsets[i]) for i, (at, _) in enumerate(changes)]
    return epoch + ibis.cases(*cases, else_=offsets[-1])


def local_day(moment: ir.TimestampValue, zone: str) -> ir.IntegerValue:
    """The brand's day as a number: days since 1970-01-01."""
    return local_seconds(moment, zone) // DAY


def bucket(moment: ir.TimestampValue, zone: str, unit: str) -> ir.IntegerValue:
    """The day, week (from Monday) or month the moment falls in, as a number (see bucket_start)."""
    day = local_day(moment, zone)
    if unit == "day":
        return day
    if unit == "week":
        return (day + 3) // 7  # 1970-01-01 was a Thursday: week 0 began on Monday 1969-12-29
    local = (local_seconds(moment, zone)).as_timestamp("s")
    return (local.year() - 1970) * 12 + local.month() - 1


def bucket_start(number: int, unit: str) -> date:
    """The first day of a bucket number from `bucket`."""
    epoch = date(1970, 1, 1)
    if unit == "day":
        return epoch + timedelta(days=number)
    if unit == "week":
        return epoch + timedelta(days=number * 7 - 3)
    return date(1970 + number // 12, number % 12 + 1, 1)


def bucket_of(day: date, unit: str) -> int:
    """The bucket number of a local date."""
    days = (day - date(1970, 1, 1)).days
    if unit == "day":
        return days
    if unit == "week":
        return (days + 3) // 7
    return (day.year - 1970) * 12 + day.month - 1
