"""The promotions calendar (活动日历): a month as its weeks, Monday first, each with the coupon
templates, flash sales, group buys and tiered prices running in it as bars across the days
they hold, so the week's small activities and the month's big one read at a glance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from siyu.promotions.models import CouponTemplate, FlashSale, GroupBuy, TieredPrice

FOLDERS = {
    "coupon": "coupons",
    "flash": "flash-sales",
    "group": "group-buys",
    "tiered": "tiered",
}


@dataclass(frozen=True)
class Activity:
    kind: str  # coupon | flash | group | tiered
    key: str
    name: str
    first: date
    last: date | None  # None: no end date (a template valid some days from each issue)
    status: str

    @property
    def href(self) -> str:
        return f"/promotions/{FOLDERS[self.kind]}/{self.key}"


@dataclass(frozen=True)
class Bar:
    """An activity's stretch within one week: columns 1 to 7, Monday first."""

    activity: Activity
    start: int
    end: int
    goes_on_before: bool
    goes_on_after: bool


@dataclass
class Week:
    days: list[date]
    bars: list[Bar] = field(default_factory=list)


def _day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def _last_day(end: datetime, zone: ZoneInfo) -> date:
    """The last day an activity ending at `end` holds: one ending at midnight ends the day
    before."""
    return _day(end - timedelta(microseconds=1), zone)


def activities(
    templates: list[CouponTemplate],
    sales: list[FlashSale],
    zone: ZoneInfo,
    others: Sequence[GroupBuy | TieredPrice] = (),
) -> list[Activity]:
    """Each coupon template's validity and each flash sale's start to end, in the brand's days.
    A template valid some days from each issue runs from its making on, without an end, until
    it is ended (then it is left out: when it ended is not kept)."""
    found = []
    for t in templates:
        last = _last_day(t.valid_until, zone) if t.valid_until else None
        if last is None and t.status == "ended":
            continue
        first = _day(t.valid_from or t.created_at, zone)
        found.append(Activity("coupon", t.key, t.name, first, last, t.status))
    for s in sales:
        first, last = _day(s.starts_at, zone), _last_day(s.ends_at, zone)
        found.append(Activity("flash", s.key, s.name, first, max(first, last), s.status))
    for o in others:
        kind = "group" if isinstance(o, GroupBuy) else "tiered"
        first, last = _day(o.starts_at, zone), _last_day(o.ends_at, zone)
        status = "ended" if o.status == "closed" else o.status
        found.append(Activity(kind, o.key, o.name, first, max(first, last), status))
    return sorted(found, key=lambda a: (a.first, a.kind, a.name))


def month_of(text: str, today: date) -> date:
    """The first day of the month `text` names (2026-12), else of today's."""
    try:
        asked = datetime.strptime(text.strip(), "%Y-%m").date()
    except ValueError:
        return today.replace(day=1)
    return asked if 2000 <= asked.year <= 2100 else today.replace(day=1)


def shifted(month: date, months: int) -> date:
    """The first day of the month `months` after (or before) `month`."""
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def weeks(month: date, found: list[Activity]) -> list[Week]:
    """The weeks that hold a day of `month`, Monday to Sunday, each with its activities' bars."""
    start = month - timedelta(days=month.weekday())
    following = shifted(month, 1)
    shown = []
    while start < following:
        days = [start + timedelta(days=n) for n in range(7)]
        week = Week(days)
        for activity in found:
            last = activity.last or days[-1]
            if activity.first > days[-1] or last < days[0]:
                continue
            first_shown, last_shown = max(activity.first, days[0]), min(last, days[-1])
            week.bars.append(
                Bar(
                    activity,
                    (first_shown - days[0]).days + 1,
                    (last_shown - days[0]).days + 1,
                    activity.first < days[0],
                    activity.last is None or activity.last > days[-1],
                )
            )
        shown.append(week)
        start += timedelta(days=7)
    return shown
