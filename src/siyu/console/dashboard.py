"""The home dashboard (首页看板), computed from the lake with DuckDB.

New customers by touchpoint group and entry type, GMV and orders per day and active customers, each
against the previous period of the same length; days are the brand's days (SIYU_TIMEZONE).

Only canonical customers count: merged customers are followed through `customer_map`. A guide sees
the same dashboard over the customers they own: every query keeps only the canonical customers whose
`owner_id` in the customers snapshot is the guide's staff id. One code path for every role, from the
lake, as fresh as the last snapshot; no OLTP side road.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import duckdb
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core import meta
from siyu.core.lake import EVENTS, Lake, open_lake
from siyu.core.limits import parse_day
from siyu.core.settings import get_settings
from siyu.customers.models import Customer
from siyu.events import shipper
from siyu.orders.models import Order
from siyu.touchpoints.models import Touchpoint

PERIODS = (7, 30, 90)
NO_TOUCHPOINT = "none"  # the group and entry type of a customer who came through no touchpoint
KPI_NAMES = ("new_customers", "active_customers", "orders", "gmv_fen", "average_order_fen")

# Stand-ins for lake tables not written yet, so every query runs on a young lake.
EMPTY_VIEWS = {
    "events": "SELECT NULL::BIGINT AS customer_id, NULL::VARCHAR AS event, "
    "NULL::VARCHAR AS touchpoint, NULL::TIMESTAMPTZ AS timestamp, NULL::DATE AS date",
    "orders": "SELECT NULL::BIGINT AS customer_id, NULL::BIGINT AS amount_fen, "
    "NULL::BIGINT AS refunded_fen, NULL::TIMESTAMPTZ AS paid_at",
    "touchpoints": 'SELECT NULL::VARCHAR AS code, NULL::VARCHAR AS "group", '
    "NULL::VARCHAR AS entry_type",
}


@dataclass(frozen=True)
class Period:
    """The brand's days from `start` to `end`, both included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous(self) -> Period:
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range(self.days)]

    def utc_bounds(self) -> tuple[datetime, datetime]:
        """[first instant, first instant after) of the period, in UTC."""
        zone = get_settings().zone
        since = datetime.combine(self.start, time(), zone)
        until = datetime.combine(self.end + timedelta(days=1), time(), zone)
        return since.astimezone(UTC), until.astimezone(UTC)


def period_ending(end: date, days: int) -> Period:
    return Period(end - timedelta(days=days - 1), end)


def today() -> date:
    return datetime.now(get_settings().zone).date()


def pinned_end(period: Period, end: str | None) -> date | None:
    """The period's last day if the query named it (so links keep it), else None."""
    return period.end if end and period.end.isoformat() == end else None


def chosen_period(days: str | None, end: str | None) -> Period:
    """The period a page's query asks for; anything unreadable means the last 30 days."""
    length = int(days) if days and days.isdecimal() and int(days) in PERIODS else 30
    return period_ending(parse_day(end) or today(), length)


@dataclass(frozen=True)
class DashboardQuery:
    period: Period
    owner_id: int | None = None  # a guide's staff id: only the customers they own
    is_guide: bool = False


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


def build_dashboard(conn: duckdb.DuckDBPyConnection, query: DashboardQuery) -> Dashboard:
    """The whole dashboard for one period and its previous one, from the lake."""
    period = query.period
    if not has_customers(conn):
        return Dashboard(period, has_data=False)
    add_missing_views(conn)
    board = Dashboard(period, has_data=True, days=[d.isoformat() for d in period.dates()])
    new = _new_customers(conn, query)
    _fill_new_customers(board, new)
    orders = _orders_by_day(conn, query)
    _fill_orders(board, orders)
    daily, totals = _active_customers(conn, query)
    board.active = [daily.get(d, 0) for d in period.dates()]
    board.kpis["active_customers"] = Change(*totals)
    board.kpis = {name: board.kpis[name] for name in KPI_NAMES}
    return board


def has_customers(conn: duckdb.DuckDBPyConnection) -> bool:
    views = _views(conn)
    if not {"customers", "customer_map"} <= views:
        return False
    return bool(conn.execute("SELECT count(*) FROM customers").fetchone()[0])


def add_missing_views(conn: duckdb.DuckDBPyConnection) -> None:
    for name in set(EMPTY_VIEWS) - _views(conn):
        conn.execute(f"CREATE VIEW {name} AS {EMPTY_VIEWS[name]} WHERE false")


def open_event_window(
    conn: duckdb.DuckDBPyConnection, first_day: date, last_day: date, lake: Lake | None = None
) -> None:
    """A view `event_window` over only the lake's day partitions from first_day to last_day.

    The `events` view reads the footer of every file in the lake to bind each query, however
    narrow its filter; naming just the days wanted keeps a query's cost to the period's files.
    """
    lake = lake or open_lake()
    first, last = f"date={first_day.isoformat()}", f"date={last_day.isoformat()}"
    days = [p for p in lake.event_partitions() if first <= p <= last]
    source = EMPTY_VIEWS["events"] + " WHERE false"
    if days:
        globs = ", ".join(_quoted(lake.url(lake.path(EVENTS, day, "*.parquet"))) for day in days)
        source = (
            f"SELECT * FROM read_parquet([{globs}], hive_partitioning = true, union_by_name = true)"
        )
    conn.execute(f"CREATE OR REPLACE TEMP VIEW event_window AS {source}")


def _quoted(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"


def _views(conn: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT view_name FROM duckdb_views()").fetchall()}


def people_sql(is_guide: bool) -> str:
    """A CTE of the canonical customers in view (a guide's own, or all)."""
    owner = "AND c.owner_id = $owner" if is_guide else ""
    return f"""people AS (
        SELECT c.customer_id, c.first_seen_at, c.first_touchpoint
        FROM customers c JOIN customer_map m ON m.customer_id = c.customer_id
        WHERE m.canonical_id = c.customer_id {owner})"""


def window_params(query: DashboardQuery) -> dict:
    """Bind values for the previous period through the end of the current one."""
    since, until = Period(query.period.previous.start, query.period.end).utc_bounds()
    params: dict = {"zone": get_settings().timezone, "since": since, "until": until}
    if query.is_guide:
        params["owner"] = query.owner_id if query.owner_id is not None else -1
    return params


def _new_customers(conn: duckdb.DuckDBPyConnection, query: DashboardQuery) -> list[tuple]:
    """(day, group, entry type, customers) for customers first seen in either period."""
    sql = f"""WITH {people_sql(query.is_guide)}
        SELECT timezone($zone, p.first_seen_at)::DATE AS day,
            CASE WHEN p.first_touchpoint IS NULL THEN '{NO_TOUCHPOINT}'
                 ELSE coalesce(t."group", 'other') END AS touchpoint_group,
            CASE WHEN p.first_touchpoint IS NULL THEN '{NO_TOUCHPOINT}'
                 ELSE coalesce(t.entry_type, 'owned') END AS entry_type,
            count(*) AS customers
        FROM people p LEFT JOIN touchpoints t ON t.code = p.first_touchpoint
        WHERE p.first_seen_at >= $since AND p.first_seen_at < $until
        GROUP BY ALL"""
    return conn.execute(sql, window_params(query)).fetchall()


def _fill_new_customers(board: Dashboard, rows: list[tuple]) -> None:
    period, dates = board.period, board.period.dates()
    by_group: dict[str, dict[date, int]] = {}
    groups: dict[str, list[int]] = {}
    entries: dict[str, list[int]] = {}
    for day, group, entry, count in rows:
        slot = 0 if day >= period.start else 1
        groups.setdefault(group, [0, 0])[slot] += count
        entries.setdefault(entry, [0, 0])[slot] += count
        if slot == 0:
            by_group.setdefault(group, {}).setdefault(day, 0)
            by_group[group][day] += count
    board.groups, board.entry_types = _shares(groups), _shares(entries)
    board.new_by_group = {
        s.key: [by_group[s.key].get(d, 0) for d in dates] for s in board.groups if s.key in by_group
    }
    board.kpis["new_customers"] = Change(
        sum(v[0] for v in groups.values()), sum(v[1] for v in groups.values())
    )


def _shares(counts: dict[str, list[int]]) -> list[Share]:
    total = sum(current for current, _ in counts.values())
    slices = [
        Share(key, Change(current, previous), current / total if total else 0.0)
        for key, (current, previous) in counts.items()
    ]
    return sorted(slices, key=lambda s: (-s.change.current, -s.change.previous, s.key))


def _orders_by_day(conn: duckdb.DuckDBPyConnection, query: DashboardQuery) -> list[tuple]:
    """(day, orders, GMV fen) for orders paid in either period; GMV is net of refunds."""
    mine = ""
    if query.is_guide:
        mine = """JOIN customer_map m ON m.customer_id = o.customer_id
            JOIN people p ON p.customer_id = m.canonical_id"""
    sql = f"""WITH {people_sql(query.is_guide)}
        SELECT timezone($zone, o.paid_at)::DATE AS day, count(*) AS orders,
            sum(o.amount_fen - coalesce(o.refunded_fen, 0))::BIGINT AS gmv_fen
        FROM orders o {mine}
        WHERE o.paid_at >= $since AND o.paid_at < $until
        GROUP BY ALL"""
    return conn.execute(sql, window_params(query)).fetchall()


def _fill_orders(board: Dashboard, rows: list[tuple]) -> None:
    period = board.period
    orders = {day: (count, gmv) for day, count, gmv in rows}
    current = [orders.get(d, (0, 0)) for d in period.dates()]
    previous = [orders.get(d, (0, 0)) for d in period.previous.dates()]
    board.orders = [count for count, _ in current]
    board.gmv_fen = [gmv for _, gmv in current]
    board.previous_gmv_fen = [gmv for _, gmv in previous]
    board.kpis["orders"] = Change(sum(board.orders), sum(c for c, _ in previous))
    board.kpis["gmv_fen"] = Change(sum(board.gmv_fen), sum(board.previous_gmv_fen))
    board.kpis["average_order_fen"] = Change(
        _average(board.kpis["gmv_fen"].current, board.kpis["orders"].current),
        _average(board.kpis["gmv_fen"].previous, board.kpis["orders"].previous),
    )


def _average(gmv_fen: int, orders: int) -> int:
    return round(gmv_fen / orders) if orders else 0


def _active_customers(
    conn: duckdb.DuckDBPyConnection, query: DashboardQuery
) -> tuple[dict[date, int], tuple[int, int]]:
    """Customers with any event: per day of the period, and in each whole period."""
    # The lake is partitioned by the brand's day; a day either side covers a changed zone.
    open_event_window(
        conn, query.period.previous.start - timedelta(days=1), query.period.end + timedelta(days=1)
    )
    params = {**window_params(query), "current_start": query.period.start}
    mine = "WHERE s.customer_id IN (SELECT customer_id FROM people)" if query.is_guide else ""
    seen = f"""WITH {people_sql(query.is_guide)},
        seen AS (
            SELECT DISTINCT coalesce(m.canonical_id, e.customer_id) AS customer_id,
                timezone($zone, e.timestamp)::DATE AS day
            FROM event_window e LEFT JOIN customer_map m ON m.customer_id = e.customer_id
            WHERE e.timestamp >= $since AND e.timestamp < $until),
        mine AS (SELECT * FROM seen s {mine})"""
    # One scan: per day, and per period (the rows whose day is NULL).
    rows = conn.execute(
        f"""{seen} SELECT day >= $current_start AS is_current, day, count(DISTINCT customer_id)
        FROM mine GROUP BY GROUPING SETS ((is_current), (is_current, day))""",
        params,
    ).fetchall()
    daily = {day: count for is_current, day, count in rows if is_current and day is not None}
    totals = {is_current: count for is_current, day, count in rows if day is None}
    return daily, (totals.get(True, 0), totals.get(False, 0))


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
