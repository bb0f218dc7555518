"""The recipient's clock: when quiet hours open and which calendar day, week or month a moment
falls in, in an IANA zone, correct across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from siyu.messaging.policy import Window


def zone_of(name: object) -> ZoneInfo | None:
    """An IANA zone from a trait value, or None when it names none."""
    if not isinstance(name, str) or not name or len(name) > 64:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def first_instant(naive: datetime, zone: ZoneInfo) -> datetime:
    """The earliest instant whose wall time in `zone` is `naive` or, when the clock skips it
    (a spring-forward gap), the moment the clock jumps past it."""
    return instants(naive, zone)[0]


def instants(naive: datetime, zone: ZoneInfo) -> list[datetime]:
    """Every instant whose wall time is `naive` (two in a fall-back fold), or the gap's end."""
    found = []
    for fold in (0, 1):
        moment = naive.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if moment.astimezone(zone).replace(tzinfo=None) == naive and moment not in found:
            found.append(moment)
    if found:
        return sorted(found)
    low = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)  # before the jump
    high = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)  # after it
    while high - low > timedelta(seconds=1):  # the offset changes once between them
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == low.astimezone(zone).utcoffset():
            low = middle
        else:
            high = middle
    return [high.replace(microsecond=0)]


def opening(at: datetime, zone: ZoneInfo, window: Window | None) -> datetime:
    """`at` itself outside quiet hours; otherwise the first instant the window opens after it,
    in the recipient's wall time."""
    local = at.astimezone(zone)
    if window is None or not window.is_quiet(local.time().replace(tzinfo=None)):
        return at
    day = local.date()
    if window.start > window.end and local.time() >= window.start:
        day += timedelta(days=1)
    for moment in instants(datetime.combine(day, window.end), zone):
        if moment >= at:
            return moment
    return first_instant(datetime.combine(day + timedelta(days=1), window.end), zone)


def period_start(day: date, period: str) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def period_bounds(moment: datetime, zone: ZoneInfo, period: str) -> tuple[datetime, datetime]:
    """The recipient's calendar day, week (from Monday) or month holding `moment`, in UTC."""
    start = period_start(moment.astimezone(zone).date(), period)
    if period == "day":
        end = start + timedelta(days=1)
    elif period == "week":
        end = start + timedelta(days=7)
    else:
        end = (start + timedelta(days=32)).replace(day=1)
    return (
        first_instant(datetime.combine(start, datetime.min.time()), zone),
        first_instant(datetime.combine(end, datetime.min.time()), zone),
    )


def days_in_month(moment: datetime, zone: ZoneInfo) -> int:
    start = moment.astimezone(zone).date().replace(day=1)
    return ((start + timedelta(days=32)).replace(day=1) - start).days
