"""`siyu bench segments`: rule → count through the product's compiler, next to hand-written SQL.

Generates (once, cached under data/bench/) a synthetic lake of 1,000,000 customers and about
20,000,000 events straight to Parquet with DuckDB, in the lake's own layout (events partitioned by
brand date, snapshots of customers, the identity map, identities, orders and tags), then for each
realistic segment times, in one run and alternating: the product path (`siyu.segments.evaluation
.count`: parse the rule, build the Ibis expression, compile, run on DuckDB) and the same segment
written by hand in DuckDB SQL over the same lake. Both must give the same count.
SIYU_BENCH_CUSTOMERS makes a smaller lake (for a quick look); the events scale with it.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table

from benchmarks.ingest import machine

ROOT = Path(__file__).resolve().parents[1]
DATA_VERSION = 2  # bump when the generated lake changes
CUSTOMERS = int(os.environ.get("SIYU_BENCH_CUSTOMERS", "1000000"))
EVENTS_PER_CUSTOMER = 20
ZONE = "Asia/Shanghai"
AS_OF = datetime(2026, 11, 21, 16, tzinfo=UTC)  # 2026-11-22 00:00 in Shanghai
DAYS = 365
TOUCHPOINTS = 60
CITIES = ("杭州", "上海", "长沙", "武汉", "深圳", "成都", "南京", "广州")
log = Console(stderr=True)

# ---------------------------------------------------------------------------------------------
# The synthetic lake (deterministic: every random draw is a hash of a row number)

EVENT_NAMES = """CASE
    WHEN k < 40 THEN 'Page Viewed'
    WHEN k < 62 THEN 'Product Viewed'
    WHEN k < 74 THEN 'Added to Cart'
    WHEN k < 84 THEN 'Order Completed'
    WHEN k < 92 THEN 'Code Scanned'
    ELSE 'Coupon Applied' END"""


def lake_path(customers: int = CUSTOMERS) -> Path:
    return ROOT / "data" / "bench" / f"segments-v{DATA_VERSION}-{customers}"


def build_lake(folder: Path, customers: int) -> None:
    """Write the lake with DuckDB (no Python loop over rows); a half-built one is removed."""
    temp = folder.with_name(folder.name + ".building")
    shutil.rmtree(temp, ignore_errors=True)
    for name in ("events", "customers", "customer_map", "identities", "orders", "customer_tags"):
        (temp / name).mkdir(parents=True)
    con = duckdb.connect()
    con.execute("SET threads = 2; SET memory_limit = '6GB'; SET preserve_insertion_order = false")
    con.execute(
        "SET TimeZone = 'UTC'; CREATE MACRO u(x, s) AS CAST(hash(x * 7919 + s) % 1000000 AS BIGINT)"
    )
    events = customers * EVENTS_PER_CUSTOMER
    as_of = AS_OF.strftime("%Y-%m-%d %H:%M:%S")
    started = time.perf_counter()
    con.execute(_customers_sql(customers, as_of))
    log.print(f"  customers: {time.perf_counter() - started:.1f} s")
    _copy(con, "customers", temp)
    con.execute(
        "CREATE TABLE customer_map AS SELECT customer_id, "
        "coalesce(merged_into_id, customer_id) AS canonical_id FROM customers"
    )
    _copy(con, "customer_map", temp)
    con.execute(
        "CREATE TABLE identities AS SELECT 'user_id' AS type, 'u' || customer_id AS value, "
        "customer_id FROM customers UNION ALL SELECT 'phone', "
        "(13800000000 + customer_id)::VARCHAR, customer_id FROM customers"
    )
    _copy(con, "identities", temp)
    con.execute(
        "CREATE TABLE customer_tags AS SELECT customer_id, tag FROM customers, "
        "(VALUES ('VIP', 7), ('宝妈', 11), ('白领', 5), ('茶饮控', 3)) t(tag, every) "
        "WHERE u(customer_id, every) % every = 0"
    )
    _copy(con, "customer_tags", temp)
    con.execute(_events_sql(customers, events, as_of))
    log.print(f"  events: {time.perf_counter() - started:.1f} s")
    con.execute(
        "CREATE TABLE orders AS SELECT properties ->> 'order_id' AS order_id, customer_id, "
        "CASE WHEN u(outbox_id, 5) % 100 < 3 THEN 'refunded' ELSE 'completed' END AS status, "
        "CAST(round(CAST(properties ->> 'revenue' AS DOUBLE) * 100) AS BIGINT) AS amount_fen, "
        "CAST(0 AS BIGINT) AS refunded_fen, timestamp AS paid_at FROM events "
        "WHERE event = 'Order Completed'"
    )
    con.execute("UPDATE orders SET refunded_fen = amount_fen WHERE status = 'refunded'")
    _copy(con, "orders", temp)
    con.execute(
        f"COPY (SELECT *, CAST(timezone('{ZONE}', timestamp) AS DATE) AS date FROM events) "
        f"TO '{temp / 'events'}' (FORMAT parquet, PARTITION_BY (date), COMPRESSION zstd, "
        "FILENAME_PATTERN 'part-{i}')"
    )
    log.print(f"  written: {time.perf_counter() - started:.1f} s")
    con.close()
    shutil.rmtree(folder, ignore_errors=True)
    temp.rename(folder)


def _copy(con: duckdb.DuckDBPyConnection, name: str, folder: Path) -> None:
    target = folder / name / "snapshot.parquet"
    con.execute(f"COPY {name} TO '{target}' (FORMAT parquet, COMPRESSION zstd)")


def _customers_sql(customers: int, as_of: str) -> str:
    cities = ", ".join(f"'{c}'" for c in CITIES)
    return f"""
    CREATE TABLE customers AS
    WITH base AS (
        SELECT range + 1 AS customer_id,
               TIMESTAMPTZ '{as_of}+00' - to_seconds(u(range, 1) * {DAYS * 86400} // 1000000)
                   AS created_at
        FROM range({customers})
    )
    SELECT customer_id,
           -- one in 200 customers was merged into the one before
           CASE WHEN u(customer_id, 2) % 200 = 0 AND customer_id > 1
                THEN customer_id - 1 END::BIGINT AS merged_into_id,
           created_at, created_at AS first_seen_at, created_at AS last_seen_at,
           'tp-' || (u(customer_id, 3) % {TOUCHPOINTS}) AS first_touchpoint,
           'tp-' || (u(customer_id, 4) % {TOUCHPOINTS}) AS last_touchpoint,
           CASE WHEN u(customer_id, 5) % 3 > 0 THEN u(customer_id, 6) % 200 + 1 END::BIGINT
               AS owner_id,
           (u(customer_id, 7) % 40 + 1)::BIGINT AS store_id,
           true AS is_identified,
           json_object('city', [{cities}][u(customer_id, 8) % {len(CITIES)} + 1],
                       'gender', CASE WHEN u(customer_id, 9) % 10 < 7 THEN 'f' ELSE 'm' END,
                       'age', 18 + u(customer_id, 10) % 45,
                       'member_level', u(customer_id, 11) % 4)::VARCHAR AS traits
    FROM base
    """


def _events_sql(customers: int, events: int, as_of: str) -> str:
    # Activity is skewed: a customer drawn as u^2 × N, so low ids are the regulars.
    return f"""
    CREATE TABLE events AS
    WITH draws AS (
        SELECT range AS i, u(range, 21) % 100 AS k,
               1 + CAST(floor(power(u(range, 22) / 1000000.0, 2) * {customers}) AS BIGINT)
                   AS customer_id,
               TIMESTAMPTZ '{as_of}+00'
                   - to_microseconds(CAST((u(range, 23) * 1000000 + u(range, 24))
                                          * ({DAYS} * 86400000000 / 1e12) AS BIGINT)) AS ts
        FROM range({events})
    )
    SELECT i AS outbox_id, 'b' || i AS message_id, 'track' AS type, {EVENT_NAMES} AS event,
           NULL::VARCHAR AS name, 'u' || customer_id AS user_id, NULL::VARCHAR AS anonymous_id,
           NULL::VARCHAR AS group_id, NULL::VARCHAR AS previous_id, customer_id,
           CASE WHEN k >= 84 AND k < 92 THEN 'tp-' || (u(i, 25) % {TOUCHPOINTS}) END
               AS touchpoint,
           ts AS timestamp, ts AS original_timestamp, ts AS sent_at, ts AS received_at,
           'bench' AS source, false AS backfill,
           CASE WHEN k >= 74 AND k < 84 THEN
                    json_object('order_id', 'o' || i,
                                'revenue', (u(i, 26) % 60000 + 900) / 100.0,
                                'store', 'S' || (u(i, 27) % 40 + 1))::VARCHAR
                WHEN k >= 84 AND k < 92 THEN
                    json_object('touchpoint', 'tp-' || (u(i, 25) % {TOUCHPOINTS}),
                                'kind', CASE WHEN u(i, 28) % 3 = 0 THEN 'poster'
                                             ELSE 'store' END)::VARCHAR
                WHEN k < 74 AND k >= 40 THEN
                    json_object('category', ['milk tea', 'fruit tea', 'coffee', 'snacks']
                                            [u(i, 29) % 4 + 1])::VARCHAR
                ELSE '{{}}' END AS properties,
           '{{}}' AS traits, '{{}}' AS context
    FROM draws
    """


# ---------------------------------------------------------------------------------------------
# The segments: a rule for the product, and the same segment by hand

PEOPLE = "SELECT customer_id FROM customers WHERE merged_into_id IS NULL"
CANONICAL = "LEFT JOIN customer_map m ON m.customer_id = e.customer_id"


def _window(days: int) -> str:
    start = AS_OF.timestamp() - days * 86400
    lo = datetime.fromtimestamp(start - 86400 * 2, UTC).date()
    return (
        f"e.timestamp > to_timestamp({start}) AND e.timestamp <= to_timestamp({AS_OF.timestamp()})"
        f" AND e.date >= DATE '{lo}'"
    )


SEGMENTS: list[tuple[str, dict, str]] = [
    (
        "regulars: ≥ 3 orders in 90 days",
        {"event": "Order Completed", "within_days": 90, "count": {"gte": 3}},
        f"""SELECT count(*) FROM ({PEOPLE}) p JOIN (
              SELECT coalesce(m.canonical_id, e.customer_id) AS customer_id FROM events e
              {CANONICAL} WHERE e.event = 'Order Completed' AND {_window(90)}
              GROUP BY 1 HAVING count(*) >= 3) b USING (customer_id)""",
    ),
    (
        "big spenders: ≥ ¥300 in 180 days",
        {
            "event": "Order Completed",
            "within_days": 180,
            "sum": {"property": "revenue", "gte": 300},
        },
        f"""SELECT count(*) FROM ({PEOPLE}) p JOIN (
              SELECT coalesce(m.canonical_id, e.customer_id) AS customer_id FROM events e
              {CANONICAL} WHERE e.event = 'Order Completed' AND {_window(180)}
              GROUP BY 1 HAVING sum(coalesce(TRY_CAST(e.properties::JSON -> 'revenue' AS DOUBLE),
                                             0)) >= 300) b USING (customer_id)""",
    ),
    (
        "scanned a store code in 30 days, no order since",
        {
            "and": [
                {"event": "Code Scanned", "within_days": 30, "where": {"kind": "store"}},
                {"event": "Order Completed", "within_days": 30, "count": {"eq": 0}},
            ]
        },
        f"""SELECT count(*) FROM ({PEOPLE}) p
            WHERE customer_id IN (
              SELECT coalesce(m.canonical_id, e.customer_id) FROM events e {CANONICAL}
              WHERE e.event = 'Code Scanned' AND {_window(30)}
                AND e.properties::JSON ->> 'kind' = 'store')
            AND customer_id NOT IN (
              SELECT coalesce(m.canonical_id, e.customer_id) FROM events e {CANONICAL}
              WHERE e.event = 'Order Completed' AND {_window(30)})""",
    ),
    (
        "Hangzhou women, VIP tag, from touchpoints 1-9",
        {
            "and": [
                {"attribute": "city", "op": "eq", "value": "杭州"},
                {"attribute": "gender", "op": "eq", "value": "f"},
                {"tag": "VIP"},
                {"first_touchpoint": {"in": [f"tp-{n}" for n in range(1, 10)]}},
            ]
        },
        f"""SELECT count(*) FROM ({PEOPLE.replace("customer_id FROM", "* FROM")}) p
            WHERE p.traits::JSON ->> 'city' = '杭州' AND p.traits::JSON ->> 'gender' = 'f'
              AND p.first_touchpoint IN ({", ".join(f"'tp-{n}'" for n in range(1, 10))})
              AND p.customer_id IN (SELECT coalesce(m.canonical_id, t.customer_id)
                                    FROM customer_tags t
                                    LEFT JOIN customer_map m USING (customer_id)
                                    WHERE t.tag = 'VIP')""",
    ),
    (
        "viewed in 7 days but no cart in 7 days (retarget)",
        {
            "and": [
                {"event": "Product Viewed", "within_days": 7, "count": {"gte": 2}},
                {"not": {"event": "Added to Cart", "within_days": 7}},
            ]
        },
        f"""SELECT count(*) FROM ({PEOPLE}) p JOIN (
              SELECT coalesce(m.canonical_id, e.customer_id) AS customer_id FROM events e
              {CANONICAL} WHERE e.event = 'Product Viewed' AND {_window(7)}
              GROUP BY 1 HAVING count(*) >= 2) v USING (customer_id)
            WHERE customer_id NOT IN (
              SELECT coalesce(m.canonical_id, e.customer_id) FROM events e {CANONICAL}
              WHERE e.event = 'Added to Cart' AND {_window(7)})""",
    ),
]


# ---------------------------------------------------------------------------------------------
# Timing


def _product_count(rule: dict) -> int:
    from siyu.segments import evaluation

    return evaluation.count(rule, as_of=AS_OF)


def _sql_count(sql: str) -> int:
    from siyu.core.lake import duckdb_connection

    return duckdb_connection().execute(sql).fetchone()[0]


def _timed(run, argument) -> tuple[float, int]:
    started = time.perf_counter()
    value = run(argument)
    return time.perf_counter() - started, value


def measure(repeats: int) -> list[dict]:
    results = []
    for name, rule, sql in SEGMENTS:
        _product_count(rule), _sql_count(sql)  # warm the file cache and imports
        product, hand = [], []
        for _ in range(repeats):  # alternating, so a busy moment hurts both
            seconds, count = _timed(_product_count, rule)
            product.append(seconds)
            seconds, expected = _timed(_sql_count, sql)
            hand.append(seconds)
        if count != expected:
            raise AssertionError(f"{name}: the product counts {count}, the SQL {expected}")
        row = {
            "segment": name,
            "count": count,
            "product_s": statistics.median(product),
            "sql_s": statistics.median(hand),
        }
        row["ratio"] = row["product_s"] / row["sql_s"]
        results.append(row)
        log.print(f"  {name}: {row['product_s']:.3f} s vs {row['sql_s']:.3f} s")
    return results


def main(seconds: float = 10.0, connections: list[int] | None = None, as_json: bool = False):
    """`connections` is not used (the command's shared options); `seconds` sets the repeats."""
    folder = lake_path()
    if not (folder / "events").is_dir():
        log.print(f"building a lake of {CUSTOMERS:,} customers under {folder.relative_to(ROOT)}")
        build_lake(folder, CUSTOMERS)
    os.environ["SIYU_LAKE"] = str(folder)
    os.environ["SIYU_TIMEZONE"] = ZONE
    from siyu.core.settings import reset_settings

    reset_settings()
    started = machine()
    events = _sql_count("SELECT count(*) FROM events")
    repeats = max(3, min(9, int(seconds // 2)))
    results = measure(repeats)
    report = {
        "machine": started,
        "customers": CUSTOMERS,
        "events": events,
        "repeats": repeats,
        "segments": results,
        "worst_ratio": max(r["ratio"] for r in results),
    }
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return report
    table = Table(title=f"rule → count, {CUSTOMERS:,} customers, {events:,} events")
    for column in ("segment", "count", "Siyu s", "hand SQL s", "ratio"):
        table.add_column(column, justify="left" if column == "segment" else "right")
    for r in results:
        table.add_row(
            r["segment"],
            f"{r['count']:,}",
            f"{r['product_s']:.3f}",
            f"{r['sql_s']:.3f}",
            f"{r['ratio']:.2f}×",
        )
    Console().print(table)
    return report
