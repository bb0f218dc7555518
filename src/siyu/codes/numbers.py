"""Per-code and per-touchpoint numbers from the lake (analytics never reads OLTP).

For each key (a channel code, or a touchpoint), by brand day:
- scans: `QR Code Scanned` events carrying it;
- new contacts: `Contact Added` events carrying it (the WeCom add's `code`, the contact way's
  state; an add with no code counts under its touchpoint, which is also a code's default);
- deletions: `Contact Deleted` by customers it brought;
- orders and GMV (net of refunds): paid by customers it brought, whenever they came.
A customer is brought by the key on their first scan or add that names one (merges followed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import duckdb

from siyu.console.dashboard import Period, _views
from siyu.core.settings import get_settings

KEYS = {
    "code": "coalesce(json_extract_string(e.properties, '$.code'), e.touchpoint)",
    "touchpoint": "e.touchpoint",
}
COLUMNS = ("scans", "contacts", "deletions", "orders", "gmv_fen")


@dataclass
class Numbers:
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

    def add(self, day: date, values: tuple) -> None:
        self.daily[day] = [int(v or 0) for v in values]
        for name, value in zip(COLUMNS, values, strict=True):
            setattr(self, name, getattr(self, name) + int(value or 0))

    def series(self, period: Period) -> dict[str, list[int]]:
        days = [self.daily.get(d, [0] * len(COLUMNS)) for d in period.dates()]
        return {name: [row[i] for row in days] for i, name in enumerate(COLUMNS)}


def _sql(by: str, only: bool) -> str:
    where_key = "AND key = $key" if only else ""
    where_b = "AND b.key = $key" if only else ""
    return f"""WITH ev AS (
            SELECT coalesce(m.canonical_id, e.customer_id) AS customer_id, e.event,
                e.timestamp, {KEYS[by]} AS key
            FROM events e LEFT JOIN customer_map m ON m.customer_id = e.customer_id
            WHERE e.event IN ('QR Code Scanned', 'Contact Added', 'Contact Deleted')
                AND e.timestamp < $until),
        brought AS (
            SELECT customer_id, arg_min(key, timestamp) AS key FROM ev
            WHERE customer_id IS NOT NULL AND key IS NOT NULL AND event <> 'Contact Deleted'
            GROUP BY customer_id),
        counts AS (
            SELECT key, timezone($zone, timestamp)::DATE AS day,
                count(*) FILTER (WHERE event = 'QR Code Scanned') AS scans,
                count(*) FILTER (WHERE event = 'Contact Added') AS contacts
            FROM ev WHERE timestamp >= $since AND key IS NOT NULL {where_key} GROUP BY ALL),
        deletions AS (
            SELECT b.key, timezone($zone, ev.timestamp)::DATE AS day, count(*) AS deletions
            FROM ev JOIN brought b USING (customer_id)
            WHERE ev.event = 'Contact Deleted' AND ev.timestamp >= $since
                {where_b}
            GROUP BY ALL),
        sales AS (
            SELECT b.key, timezone($zone, o.paid_at)::DATE AS day, count(*) AS orders,
                sum(o.amount_fen - coalesce(o.refunded_fen, 0))::BIGINT AS gmv_fen
            FROM orders o JOIN customer_map m ON m.customer_id = o.customer_id
                JOIN brought b ON b.customer_id = m.canonical_id
            WHERE o.paid_at >= $since AND o.paid_at < $until {where_b}
            GROUP BY ALL)
        SELECT key, day, coalesce(scans, 0), coalesce(contacts, 0), coalesce(deletions, 0),
            coalesce(orders, 0), coalesce(gmv_fen, 0)
        FROM counts FULL JOIN deletions USING (key, day) FULL JOIN sales USING (key, day)"""


def _fill_views(conn: duckdb.DuckDBPyConnection) -> bool:
    """Stand-ins for snapshot tables a young lake lacks; False when there are no events."""
    views = _views(conn)
    if "events" not in views:
        return False
    if "customer_map" not in views:
        conn.execute(
            "CREATE VIEW customer_map AS SELECT NULL::BIGINT AS customer_id, "
            "NULL::BIGINT AS canonical_id WHERE false"
        )
    if "orders" not in views:
        conn.execute(
            "CREATE VIEW orders AS SELECT NULL::BIGINT AS customer_id, NULL::BIGINT AS amount_fen,"
            " NULL::BIGINT AS refunded_fen, NULL::TIMESTAMPTZ AS paid_at WHERE false"
        )
    return True


def numbers(
    conn: duckdb.DuckDBPyConnection, period: Period, by: str = "code", key: str | None = None
) -> dict[str, Numbers]:
    """key → its numbers in the period (with a day-by-day breakdown); one key or all."""
    if not _fill_views(conn):
        return {}
    since, until = period.utc_bounds()
    params = {"since": since, "until": until, "zone": get_settings().timezone}
    if key is not None:
        params["key"] = key
    found: dict[str, Numbers] = {}
    for row in conn.execute(_sql(by, key is not None), params).fetchall():
        found.setdefault(row[0], Numbers()).add(row[1], row[2:])
    return found


def last_days(end: date, days: int) -> Period:
    return Period(end - timedelta(days=days - 1), end)
