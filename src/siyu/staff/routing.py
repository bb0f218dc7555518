"""Routing (分流): which guide a channel code hands a new contact to, now.

A code lists guides with weights, weekday/time schedules in brand time, daily add limits and
backups. Among the guides on duty, under their daily limit and under their account's contact
limit, the one furthest below its weighted share of today's adds is chosen (a smooth weighted
rotation, so 3:1 weights give 3:1 adds without randomness). Backups are used only when no main
guide can take the contact. A code with no routing goes to its own guide, if it has one.

The capacity paradox: one person cannot look after unlimited contacts. An account at its
contact limit gets no more; at 80 % it is listed in `capacity_warnings` for the console.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from siyu.core.db import rowcount
from siyu.core.settings import get_settings
from siyu.customers.models import Customer
from siyu.staff.models import GuideDailyAdds, Staff

log = logging.getLogger("siyu.routing")
WARN_SHARE = 0.8


@dataclass(frozen=True)
class Route:
    """One guide in a code's routing: weight, weekdays and hours (brand time), limit, backup."""

    staff_id: int
    weight: int = 1
    weekdays: str = "1234567"  # ISO weekdays as digits, Monday = 1
    start_time: str | None = None  # "09:00"
    end_time: str | None = None  # "21:00", exclusive
    daily_limit: int | None = None
    is_backup: bool = False


@dataclass(frozen=True)
class Capacity:
    staff_id: int
    name: str
    contacts: int
    limit: int

    @property
    def share(self) -> float:
        return self.contacts / self.limit if self.limit else 1.0

    @property
    def is_full(self) -> bool:
        return self.contacts >= self.limit


def brand_day(at: datetime) -> str:
    return at.astimezone(get_settings().zone).date().isoformat()


def route_contact(session: Session, routes: Sequence[Route], at: datetime) -> Staff | None:
    """The guide a new contact through a code with these routes goes to at `at` (None when
    nobody can take it); the code gives its routing as values (codes.service.routing_of)."""
    staff = {
        s.id: s
        for s in session.scalars(select(Staff).where(Staff.id.in_({r.staff_id for r in routes})))
    }
    adds = adds_on(session, list(staff), brand_day(at))
    for backups in (False, True):
        open_routes = [
            r
            for r in routes
            if bool(r.is_backup) == backups
            and _can_take(session, staff.get(r.staff_id), r, at, adds.get(r.staff_id, 0))
        ]
        if open_routes:
            chosen = min(
                open_routes, key=lambda r: ((adds.get(r.staff_id, 0) + 1) / r.weight, r.staff_id)
            )
            return staff[chosen.staff_id]
    return None


def _can_take(session: Session, staff: Staff | None, route: Route, at: datetime, adds: int):
    if staff is None or staff.status != "active":
        return False
    if not is_on_duty(route, at):
        return False
    if route.daily_limit is not None and adds >= route.daily_limit:
        return False
    return not _is_full(session, staff)


def is_on_duty(route: Route, at: datetime) -> bool:
    local = at.astimezone(get_settings().zone)
    if str(local.isoweekday()) not in (route.weekdays or "1234567"):
        return False
    now = local.strftime("%H:%M")
    start, end = route.start_time or "00:00", route.end_time or "24:00"
    if start <= end:
        return start <= now < end
    return now >= start or now < end  # a window across midnight, e.g. 20:00–02:00


def _is_full(session: Session, staff: Staff) -> bool:
    if not staff.contact_limit:
        return False
    contacts = contacts_of(session, staff.id)
    if contacts >= staff.contact_limit:
        log.warning("staff %s is at its contact limit (%s)", staff.id, staff.contact_limit)
        return True
    if contacts >= WARN_SHARE * staff.contact_limit:
        log.warning("staff %s holds %s of %s contacts", staff.id, contacts, staff.contact_limit)
    return False


def contacts_of(session: Session, staff_id: int) -> int:
    """Customers a staff member owns now (merged-away customers are not counted)."""
    return (
        session.scalar(
            select(func.count(Customer.id)).where(
                Customer.owner_id == staff_id, Customer.merged_into_id.is_(None)
            )
        )
        or 0
    )


def adds_on(session: Session, staff_ids: list[int], day: str) -> dict[int, int]:
    if not staff_ids:
        return {}
    rows = session.execute(
        select(GuideDailyAdds.staff_id, GuideDailyAdds.adds).where(
            GuideDailyAdds.staff_id.in_(staff_ids), GuideDailyAdds.day == day
        )
    )
    return dict(rows.all())


def record_add(session: Session, staff_id: int, at: datetime) -> int:
    """Count one new contact for a guide on the brand day of `at`; returns the day's adds."""
    day = brand_day(at)
    bumped = session.execute(
        update(GuideDailyAdds)
        .where(GuideDailyAdds.staff_id == staff_id, GuideDailyAdds.day == day)
        .values(adds=GuideDailyAdds.adds + 1)
    )
    if rowcount(bumped) == 0:
        session.add(GuideDailyAdds(staff_id=staff_id, day=day, adds=1))
    session.flush()
    return adds_on(session, [staff_id], day)[staff_id]


def capacity_warnings(session: Session) -> list[Capacity]:
    """Accounts with a contact limit holding at least 80 % of it, fullest first."""
    limited = list(session.scalars(select(Staff).where(Staff.contact_limit.is_not(None))))
    if not limited:
        return []
    counts = dict(
        session.execute(
            select(Customer.owner_id, func.count(Customer.id))
            .where(
                Customer.owner_id.in_([s.id for s in limited]), Customer.merged_into_id.is_(None)
            )
            .group_by(Customer.owner_id)
        ).all()
    )
    found = [
        Capacity(s.id, s.name, counts.get(s.id, 0), s.contact_limit)
        for s in limited
        if s.contact_limit is not None
    ]
    return sorted(
        (c for c in found if c.limit and c.contacts >= WARN_SHARE * c.limit),
        key=lambda c: -c.share,
    )
