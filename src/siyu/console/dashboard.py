"""The home dashboard (首页看板): the `overview` report (analytics/overview.py) for a period
against the previous one of the same length, as the page shows it.

New customers by touchpoint group and entry type, active customers, buyers, orders, GMV and
average order value; days are the brand's days (SIYU_TIMEZONE). Every number comes from the
report runner over the lake, so the page agrees with the GMV report for the same period and
filters and runs on Spark too. A guide sees the same dashboard over the customers they own (the
reports' guide filter). What Siyu holds to date (holdings) comes from the OLTP database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.analytics import lake_customers, overview, runner
from siyu.analytics.base import Filters
from siyu.core import meta
from siyu.core.lake import Lake, open_lake
from siyu.core.limits import FIRST_DAY, parse_day
from siyu.core.periods import Period
from siyu.core.settings import get_settings
from siyu.customers.models import Customer
from siyu.events import shipper
from siyu.orders.models import Order
from siyu.touchpoints.models import Touchpoint

PERIODS = (7, 30, 90)
NO_TOUCHPOINT = "none"  # the group and entry type of a customer who came through no touchpoint
KPI_NAMES = (
    "new_customers",
    "active_customers",
    "buyers",
    "orders",
    "gmv_fen",
    "average_order_fen",
)


def today() -> date:
    return datetime.now(get_settings().zone).date()


def pinned_end(period: Period, end: str | None) -> date | None:
    """The period's last day if the query named it (so links keep it), else None."""
    return period.end if end and period.end.isoformat() == end else None


def chosen_period(days: str | None, end: str | None) -> Period:
    """The period a page's query asks for; anything unreadable means the last 30 days."""
    length = int(days) if days and days.isdecimal() and int(days) in PERIODS else 30
    earliest = FIRST_DAY + timedelta(days=length - 1)  # a period begins no earlier than FIRST_DAY
    return Period.ending(max(parse_day(end) or today(), earliest), length)


@dataclass(frozen=True)
class DashboardQuery:
    period: Period
    owner_id: int | None = None  # a guide's staff id: only the customers they own
    is_guide: bool = False

    @property
    def owns_nobody(self) -> bool:
        """A guide user without a staff record: no customer is theirs."""
        return self.is_guide and self.owner_id is None

    def report_query(self) -> overview.Query:
        """The overview report's query: a guide's is over the customers they own."""
        mine = (self.owner_id,) if self.is_guide and self.owner_id is not None else ()
        return overview.Query(period=self.period, filters=Filters(guide=mine))


@dataclass(frozen=True)
class Change:
    """A number in this period beside the same number in the previous one."""

    current: int
    previous: int

    @property
    def delta(self) -> float | None:
        """(current − previous) / previous; None when there is nothing to compare with."""
        if not self.previous:
            return None
        return (self.current - self.previous) / self.previous

    @property
    def direction(self) -> str:
        if self.current == self.previous:
            return ""
        return "up" if self.current > self.previous else "down"


@dataclass(frozen=True)
class Share:
    """One slice of a breakdown (a touchpoint group or an entry type)."""

    key: str
    change: Change
    share: float  # of this period's total


@dataclass
class Dashboard:
    period: Period
    has_data: bool  # False: the lake holds no customers yet
    kpis: dict[str, Change] = field(default_factory=dict)
    days: list[str] = field(default_factory=list)  # the period's days, ISO
    new_by_group: dict[str, list[int]] = field(default_factory=dict)  # group → per day
    groups: list[Share] = field(default_factory=list)
    entry_types: list[Share] = field(default_factory=list)
    orders: list[int] = field(default_factory=list)  # per day
    gmv_fen: list[int] = field(default_factory=list)
    previous_gmv_fen: list[int] = field(default_factory=list)  # day n of the previous period
    active: list[int] = field(default_factory=list)


def build_dashboard(query: DashboardQuery, lake: Lake | None = None) -> Dashboard:
    """The whole dashboard for one period and its previous one, from the overview report."""
    period = query.period
    lake = lake or open_lake()
    if not runner.run(lake_customers, lake_customers.Query(), lake=lake).result.customers:
        return Dashboard(period, has_data=False)
    if query.owns_nobody:
        found = overview.nothing(query.report_query())
    else:
        found = runner.run(overview, query.report_query(), lake=lake).result
    board = Dashboard(period, has_data=True, days=[d.isoformat() for d in period.dates()])
    _fill_new_customers(board, found.arrivals)
    by_day = {d.day: d for d in found.days}
    current = [by_day[d] for d in period.dates()]
    board.orders = [d.orders for d in current]
    board.gmv_fen = [d.gmv_fen for d in current]
    board.previous_gmv_fen = [by_day[d].gmv_fen for d in period.previous.dates()]
    board.active = [d.active_customers for d in current]
    now, before = found.current, found.before
    board.kpis = {name: Change(getattr(now, name), getattr(before, name)) for name in KPI_NAMES}
    return board


def _fill_new_customers(board: Dashboard, arrivals: list[overview.Arrivals]) -> None:
    period, dates = board.period, board.period.dates()
    by_group: dict[str, dict[date, int]] = {}
    groups: dict[str, list[int]] = {}
    entries: dict[str, list[int]] = {}
    for found in arrivals:
        group, count = found.touchpoint_type, found.customers
        slot = 0 if found.day >= period.start else 1
        groups.setdefault(group, [0, 0])[slot] += count
        entries.setdefault(found.entry_type, [0, 0])[slot] += count
        if slot == 0:
            daily = by_group.setdefault(group, {})
            daily[found.day] = daily.get(found.day, 0) + count
    board.groups, board.entry_types = _shares(groups), _shares(entries)
    board.new_by_group = {
        s.key: [by_group[s.key].get(d, 0) for d in dates] for s in board.groups if s.key in by_group
    }


def _shares(counts: dict[str, list[int]]) -> list[Share]:
    total = sum(current for current, _ in counts.values())
    slices = [
        Share(key, Change(current, previous), current / total if total else 0.0)
        for key, (current, previous) in counts.items()
    ]
    return sorted(slices, key=lambda s: (-s.change.current, -s.change.previous, s.key))


@dataclass(frozen=True)
class Holdings:
    """What this Siyu holds right now, from the OLTP database (the lake may lag behind)."""

    customers: int
    orders: int
    gmv_fen: int
    touchpoints: int
    lake: dict
    last_shipped_at: datetime | None
    demo: dict | None


def holdings(session: Session, owner_id: int | None = None, is_guide: bool = False) -> Holdings:
    """Totals to date; a guide's are over the customers they own."""
    customers = select(func.count(Customer.id)).where(Customer.merged_into_id.is_(None))
    orders = select(
        func.count(Order.id), func.coalesce(func.sum(Order.amount_fen - Order.refunded_fen), 0)
    )
    if is_guide:
        customers = customers.where(Customer.owner_id == owner_id)
        orders = orders.join(Customer, Customer.id == Order.customer_id).where(
            Customer.owner_id == owner_id
        )
    order_count, gmv = session.execute(orders).one()
    lake = shipper.counts(session)
    shipped = lake["last_shipped_at"]
    return Holdings(
        customers=session.scalar(customers) or 0,
        orders=order_count,
        gmv_fen=int(gmv),
        touchpoints=session.scalar(select(func.count(Touchpoint.id))) or 0,
        lake=lake,
        last_shipped_at=datetime.fromisoformat(shipped) if shipped else None,
        demo=meta.read(session, "demo"),
    )
