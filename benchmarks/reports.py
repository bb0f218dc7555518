"""`siyu bench reports`: retention, RFM, attribution and a funnel on a 1,000,000-customer lake,
each as Siyu runs it (the Ibis runner on DuckDB) next to the same computation hand-written in
DuckDB SQL and in pandas, in one run; the three answers are compared.

The lake is generated with DuckDB straight into the lake's layout (snapshots plus events
partitioned by the brand's day) and cached under data/bench/reports-v1-<customers>/.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from benchmarks.ingest import machine

ROOT = Path(__file__).resolve().parents[1]
CUSTOMERS = 1_000_000
VERSION = 1
ZONE_OFFSET = 8 * 3600  # Asia/Shanghai: no daylight saving since 1991
POINTS = 30
log = Console(stderr=True)
COUNTED = ("completed", "partially_refunded")

RETENTION = {"period": {"start": date(2026, 9, 1), "end": date(2026, 10, 31)}, "unit": "week"}
RFM = {"as_of": date(2026, 11, 30)}
ATTRIBUTION = {"period": {"start": date(2026, 11, 1), "end": date(2026, 11, 30)}}
FUNNEL_STEPS = ("QR Code Scanned", "Product Viewed", "Order Completed")
FUNNEL = {
    "period": {"start": date(2026, 11, 1), "end": date(2026, 11, 30)},
    "steps": [{"events": [e]} for e in FUNNEL_STEPS],
    "window_hours": 168,
}


def lake_path(customers: int) -> Path:
    return ROOT / "data" / "bench" / f"reports-v{VERSION}-{customers}"


def build_lake(root: Path, customers: int) -> None:
    """Customers over 2026 from 30 touchpoints; 0–5 orders each; before each order one to three
    touches, a product view and the order event; a scan when they arrive."""
    temp = root.with_name(root.name + ".building")
    shutil.rmtree(temp, ignore_errors=True)
    for name in ("customers", "customer_map", "orders", "touchpoints", "events"):
        (temp / name).mkdir(parents=True)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'; SELECT setseed(0.42)")
    con.execute(f"""CREATE TABLE c AS SELECT i AS customer_id,
        TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_seconds(CAST(random() * 333 * 86400 AS BIGINT))
            AS first_seen_at,
        'tp-' || CAST(i % {POINTS} AS VARCHAR) AS first_touchpoint,
        CASE WHEN i % 4 = 0 THEN NULL ELSE i % 50 END AS owner_id, i % 7 AS store_id
        FROM range(1, {customers} + 1) t(i)""")
    con.execute(f"""COPY (SELECT customer_id,
            CASE WHEN customer_id % 100 = 0 THEN customer_id - 1 END AS merged_into_id,
            first_seen_at AS created_at, first_seen_at, first_touchpoint,
            first_touchpoint AS last_touchpoint, owner_id, store_id, '{{}}' AS traits
        FROM c) TO '{temp}/customers/snapshot.parquet' (FORMAT parquet)""")
    con.execute(f"""COPY (SELECT customer_id,
            CASE WHEN customer_id % 100 = 0 THEN customer_id - 1 ELSE customer_id END
                AS canonical_id
        FROM c) TO '{temp}/customer_map/snapshot.parquet' (FORMAT parquet)""")
    con.execute(f"""COPY (SELECT 'tp-' || CAST(i AS VARCHAR) AS code,
            'touchpoint ' || CAST(i AS VARCHAR) AS name,
            ['store', 'guide', 'poster', 'paid_ad', 'mini_program'][i % 5 + 1] AS "group",
            CASE WHEN i % 5 = 3 THEN 'paid' ELSE 'owned' END AS entry_type,
            NULL::BIGINT AS store_id, NULL::BIGINT AS owner_id, true AS is_registered
        FROM range({POINTS}) t(i)) TO '{temp}/touchpoints/snapshot.parquet' (FORMAT parquet)""")
    con.execute("""CREATE TABLE o AS SELECT customer_id, n,
        first_seen_at + to_seconds(CAST(n * 9 * 86400 + random() * 20 * 86400 AS BIGINT))
            AS paid_at,
        CAST(1000 + random() * 19000 AS BIGINT) AS amount_fen
        FROM c JOIN range(6) r(n)
            ON n < floor(pow((hash(customer_id) % 1000) / 1000.0, 2) * 6)""")
    con.execute("DELETE FROM o WHERE paid_at >= TIMESTAMPTZ '2026-12-01 00:00:00+08'")
    con.execute(f"""COPY (SELECT 'o' || CAST(customer_id AS VARCHAR) || '-' || CAST(n AS VARCHAR)
            AS order_id, customer_id,
            CASE WHEN (customer_id + n) % 40 = 0 THEN 'refunded' ELSE 'completed' END AS status,
            amount_fen, 0::BIGINT AS refunded_fen, paid_at, NULL::TIMESTAMPTZ AS refunded_at,
            NULL AS store, NULL AS touchpoint, 'bench' AS source, '[]' AS products
        FROM o) TO '{temp}/orders/snapshot.parquet' (FORMAT parquet)""")
    con.execute(f"""CREATE TABLE e AS
        SELECT customer_id, 'QR Code Scanned' AS event, first_touchpoint AS touchpoint,
            first_seen_at AS timestamp FROM c
        UNION ALL
        SELECT customer_id, 'Product Viewed', NULL, paid_at - INTERVAL 20 MINUTE FROM o
        UNION ALL
        SELECT customer_id, 'Order Completed', NULL, paid_at FROM o
        UNION ALL
        SELECT o.customer_id, 'Message Read',
            'tp-' || CAST((o.customer_id * 7 + k * 13 + o.n) % {POINTS} AS VARCHAR),
            o.paid_at - to_seconds(CAST((k + 1) * random() * 12 * 86400 AS BIGINT))
        FROM o JOIN range(3) r(k) ON k < 1 + hash(o.customer_id + o.n) % 3""")
    con.execute(f"""COPY (SELECT row_number() OVER () AS outbox_id,
            'm' || CAST(row_number() OVER () AS VARCHAR) AS message_id, 'track' AS type, event,
            customer_id, touchpoint, timestamp, timestamp AS received_at, 'bench' AS source,
            false AS backfill, '{{}}' AS properties,
            CAST(timezone('Asia/Shanghai', timestamp) AS DATE) AS date
        FROM e WHERE timestamp < TIMESTAMPTZ '2026-12-01 00:00:00+08')
        TO '{temp}/events' (FORMAT parquet, PARTITION_BY (date))""")
    counts = {
        name: con.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for name in ("c", "o", "e")
    }
    con.close()
    (temp / "counts.json").write_text(json.dumps(counts))
    temp.rename(root)


def ensure_lake(customers: int) -> Path:
    root = lake_path(customers)
    if not (root / "counts.json").exists():
        log.print(f"building a {customers:,}-customer lake under {root.relative_to(ROOT)} …")
        started = time.perf_counter()
        build_lake(root, customers)
        log.print(f"built in {time.perf_counter() - started:.0f} s")
    return root


# ---------------------------------------------------------------------------------------------
# Siyu: the runner


def siyu_case(kind: str, query: dict) -> Callable[[], object]:
    from siyu.analytics import runner
    from siyu.analytics.registry import REPORTS

    module = REPORTS[kind]
    parsed = module.Query.model_validate(query)
    return lambda: runner.run(module, parsed, use_cache=False).result


# ---------------------------------------------------------------------------------------------
# Hand-written DuckDB SQL


def sql_connection(root: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name in ("customers", "customer_map", "orders", "touchpoints"):
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM '{root}/{name}/snapshot.parquet'")
    con.execute(
        f"CREATE VIEW events AS SELECT * FROM read_parquet('{root}/events/*/*.parquet', "
        "hive_partitioning = true)"
    )
    return con


BUYS = """buys AS (
    SELECT coalesce(m.canonical_id, o.customer_id) AS customer_id, o.order_id, o.paid_at,
        o.amount_fen - coalesce(o.refunded_fen, 0) AS net_fen
    FROM orders o LEFT JOIN customer_map m ON m.customer_id = o.customer_id
    WHERE o.customer_id IS NOT NULL AND o.paid_at IS NOT NULL
        AND o.status IN ('completed', 'partially_refunded')
        AND coalesce(m.canonical_id, o.customer_id) IN
            (SELECT customer_id FROM customers WHERE merged_into_id IS NULL))"""


def sql_retention(con) -> list:
    first, last = _week(RETENTION["period"]["start"]), _week(RETENTION["period"]["end"])
    rows = con.execute(f"""WITH {BUYS},
        active AS (SELECT DISTINCT customer_id,
            ((epoch(paid_at)::BIGINT + {ZONE_OFFSET}) // 86400 + 3) // 7 AS b FROM buys),
        starts AS (SELECT customer_id, min(b) AS start FROM active GROUP BY ALL
            HAVING min(b) BETWEEN {first} AND {last})
        SELECT s.start, a.b - s.start AS "offset", count(*) AS customers,
            -- the newest week a cohort can have reached (the report trims cohorts to it)
            (SELECT ((epoch_us(max(paid_at)) // 1000000 + {ZONE_OFFSET}) // 86400 + 3) // 7
             FROM orders WHERE customer_id IS NOT NULL
                AND status IN ('completed', 'partially_refunded')) AS reach
        FROM starts s JOIN active a ON a.customer_id = s.customer_id
            AND a.b BETWEEN s.start AND s.start + 8
        GROUP BY ALL ORDER BY 1, 2""").fetchall()
    return [row[:3] for row in rows]


def sql_rfm(con) -> list:
    """What the RFM report shows: per layer its buyers and their average recency, orders and
    spend, and the recency score × frequency score grid (scores: quintiles of rank)."""
    until = _epoch(RFM["as_of"], 1)
    cells = con.execute(f"""WITH {BUYS},
        b AS (SELECT customer_id, ({until} - epoch_us(max(paid_at)) // 1000000) // 86400 AS r,
            count(*) AS f, sum(net_fen) AS m FROM buys WHERE paid_at < to_timestamp({until})
            GROUP BY ALL),
        s AS (SELECT *, count(*) OVER () AS n, sum(r) OVER () AS rt, sum(f) OVER () AS ft,
            sum(m) OVER () AS mt, rank() OVER (ORDER BY r DESC) - 1 AS r_rank,
            rank() OVER (ORDER BY f) - 1 AS f_rank FROM b)
        SELECT r * n <= rt AS recent, f * n >= ft AS frequent, m * n >= mt AS valuable,
            1 + 5 * r_rank // n AS r_score, 1 + 5 * f_rank // n AS f_score,
            count(*) AS customers, sum(r) AS r, sum(f) AS f, sum(m) AS m
        FROM s GROUP BY ALL""").fetchall()
    return rfm_answer(cells)


def rfm_answer(cells: list) -> list:
    """Cells (recent, frequent, valuable, r score, f score, buyers, Σ recency, Σ orders,
    Σ spend) → the report's layers (flags, buyers, averages) and grid cells."""
    layers: dict[tuple, list] = {}
    grid: dict[tuple, int] = {}
    for recent, frequent, valuable, r_score, f_score, n, r, f, m in cells:
        total = layers.setdefault((bool(recent), bool(frequent), bool(valuable)), [0, 0, 0, 0])
        for i, value in enumerate((n, r, f, m)):
            total[i] += int(value)
        grid[(int(r_score), int(f_score))] = grid.get((int(r_score), int(f_score)), 0) + int(n)
    found = [
        ("layer", *flags, n, round(r / n, 3), round(f / n, 3), round(m / n, 1))
        for flags, (n, r, f, m) in layers.items()
    ]
    return found + [("grid", r, f, n, 0, 0, 0) for (r, f), n in grid.items()]


def sql_attribution(con) -> list:
    since, until = _epoch(ATTRIBUTION["period"]["start"]), _epoch(ATTRIBUTION["period"]["end"], 1)
    rows = con.execute(f"""WITH {BUYS},
        conv AS (SELECT * FROM buys
            WHERE paid_at >= to_timestamp({since}) AND paid_at < to_timestamp({until})),
        touches AS (SELECT coalesce(m.canonical_id, e.customer_id) AS customer_id, e.touchpoint,
                e.timestamp AS ts
            FROM events e LEFT JOIN customer_map m ON m.customer_id = e.customer_id
            WHERE e.customer_id IS NOT NULL AND e.touchpoint IS NOT NULL
                AND e.timestamp >= to_timestamp({since}) - INTERVAL 30 DAY
                AND e.timestamp < to_timestamp({until})),
        pairs AS (SELECT c.order_id, c.net_fen, t.touchpoint, row_number() OVER (
                PARTITION BY c.order_id ORDER BY t.ts DESC, t.touchpoint DESC) AS k
            FROM conv c JOIN touches t ON t.customer_id = c.customer_id
                AND t.ts <= c.paid_at AND t.ts > c.paid_at - INTERVAL 30 DAY),
        credited AS (SELECT touchpoint, count(*) AS conversions, sum(net_fen) AS revenue
            FROM pairs WHERE k = 1 GROUP BY ALL)
        SELECT * FROM credited UNION ALL
        SELECT 'direct', (SELECT count(*) FROM conv) - (SELECT sum(conversions) FROM credited),
            (SELECT sum(net_fen) FROM conv) - (SELECT sum(revenue) FROM credited)
        ORDER BY 1""").fetchall()
    return [row for row in rows if row[1]]  # no direct row when every order had a touch


def sql_funnel(con) -> list:
    since, until = _epoch(FUNNEL["period"]["start"]), _epoch(FUNNEL["period"]["end"], 1)
    names = ", ".join(f"'{e}'" for e in FUNNEL_STEPS)
    rows = con.execute(f"""WITH rows AS (
            SELECT coalesce(m.canonical_id, e.customer_id) AS customer_id, e.event,
                e.timestamp AS ts
            FROM events e LEFT JOIN customer_map m ON m.customer_id = e.customer_id
            WHERE e.customer_id IS NOT NULL AND e.event IN ({names})
                AND e.timestamp >= to_timestamp({since})
                AND e.timestamp < to_timestamp({until}) + INTERVAL 168 HOUR
                AND coalesce(m.canonical_id, e.customer_id) IN
                    (SELECT customer_id FROM customers WHERE merged_into_id IS NULL)),
        s1 AS (SELECT DISTINCT customer_id, ts AS started FROM rows
            WHERE event = '{FUNNEL_STEPS[0]}' AND ts < to_timestamp({until})),
        s2 AS (SELECT s.customer_id, s.started, min(r.ts) AS reached FROM s1 s JOIN rows r
            ON r.customer_id = s.customer_id AND r.event = '{FUNNEL_STEPS[1]}'
            AND r.ts > s.started AND r.ts <= s.started + INTERVAL 168 HOUR GROUP BY ALL),
        s3 AS (SELECT s.customer_id, s.started, min(r.ts) AS reached FROM s2 s JOIN rows r
            ON r.customer_id = s.customer_id AND r.event = '{FUNNEL_STEPS[2]}'
            AND r.ts > s.reached AND r.ts <= s.started + INTERVAL 168 HOUR GROUP BY ALL),
        quickest AS (SELECT customer_id,
            min(epoch_us(reached) // 1000000 - epoch_us(started) // 1000000) AS seconds
            FROM s3 GROUP BY ALL)
        SELECT 'step', 1, count(DISTINCT customer_id), 0 FROM s1 UNION ALL
        SELECT 'step', 2, count(DISTINCT customer_id), 0 FROM s2 UNION ALL
        SELECT 'step', 3, count(DISTINCT customer_id), 0 FROM s3 UNION ALL
        SELECT 'time', CASE WHEN seconds < 60 THEN 0 WHEN seconds < 3600 THEN 1
                WHEN seconds < 86400 THEN 2 WHEN seconds < 604800 THEN 3 ELSE 4 END,
            count(*), sum(seconds) FROM quickest GROUP BY ALL""").fetchall()
    return funnel_answer(rows)


def funnel_answer(rows: list) -> list:
    """("step", k, customers) and ("time", bucket, customers) rows, and the mean time to
    convert, from (kind, number, customers, seconds) rows."""
    found = [(kind, int(k), int(n)) for kind, k, n, _ in rows]
    converted = sum(int(n) for kind, _, n, _ in rows if kind == "time")
    seconds = sum(int(s) for kind, _, _, s in rows if kind == "time")
    return found + [("mean", round(seconds / converted, 3) if converted else None, 0)]


def _week(day: date) -> int:
    return ((day - date(1970, 1, 1)).days + 3) // 7


def _epoch(day: date, plus_days: int = 0) -> int:
    """The first second of the brand's day (UTC+8), plus whole days."""
    return ((day - date(1970, 1, 1)).days + plus_days) * 86400 - ZONE_OFFSET


# ---------------------------------------------------------------------------------------------
# pandas


class Frames:
    def __init__(self, root: Path):
        self.root = root
        customers = pd.read_parquet(root / "customers", columns=["customer_id", "merged_into_id"])
        self.people = customers.loc[customers.merged_into_id.isna(), "customer_id"]
        self.map = pd.read_parquet(root / "customer_map").set_index("customer_id").canonical_id

    def buys(self) -> pd.DataFrame:
        orders = pd.read_parquet(
            self.root / "orders",
            columns=["order_id", "customer_id", "status", "amount_fen", "refunded_fen", "paid_at"],
        )
        orders = orders[orders.status.isin(COUNTED) & orders.paid_at.notna()]
        orders = orders.assign(
            customer_id=orders.customer_id.map(self.map).fillna(orders.customer_id),
            net_fen=orders.amount_fen - orders.refunded_fen.fillna(0),
        )
        return orders[orders.customer_id.isin(self.people)]

    def events(self, since: int, until: int, columns: list[str]) -> pd.DataFrame:
        events = pd.read_parquet(
            self.root / "events",
            columns=columns,
            filters=[
                ("timestamp", ">=", pd.Timestamp(since, unit="s", tz="UTC")),
                ("timestamp", "<", pd.Timestamp(until, unit="s", tz="UTC")),
            ],
        )
        events = events[events.customer_id.notna()]
        return events.assign(
            customer_id=events.customer_id.map(self.map).fillna(events.customer_id)
        )


def _seconds(series: pd.Series) -> np.ndarray:
    return (
        series.astype("int64").to_numpy() // 1_000_000
        if series.dt.unit == "us"
        else (series.astype("int64").to_numpy() // 1_000_000_000)
    )


def pandas_retention(frames: Frames) -> list:
    buys = frames.buys()
    week = ((_seconds(buys.paid_at) + ZONE_OFFSET) // 86400 + 3) // 7
    active = pd.DataFrame({"customer_id": buys.customer_id.to_numpy(), "b": week}).drop_duplicates()
    first, last = _week(RETENTION["period"]["start"]), _week(RETENTION["period"]["end"])
    starts = active.groupby("customer_id").b.min().rename("start").reset_index()
    starts = starts[(starts.start >= first) & (starts.start <= last)]
    pairs = starts.merge(active, on="customer_id")
    reach = week.max()  # the newest week a cohort can have reached (the report trims to it)
    pairs = pairs[(pairs.b >= pairs.start) & (pairs.b <= pairs.start + 8) & (pairs.b <= reach)]
    counts = pairs.assign(offset=pairs.b - pairs.start).groupby(["start", "offset"]).size()
    return [(int(s), int(o), int(n)) for (s, o), n in counts.items()]


def pandas_rfm(frames: Frames) -> list:
    until = _epoch(RFM["as_of"], 1)
    buys = frames.buys()
    buys = buys[_seconds(buys.paid_at) < until]
    b = buys.groupby("customer_id").agg(
        last=("paid_at", "max"), f=("order_id", "size"), m=("net_fen", "sum")
    )
    b["r"] = (until - _seconds(b["last"])) // 86400
    n = len(b)
    cells = pd.DataFrame(
        {
            "recent": b.r * n <= b.r.sum(),
            "frequent": b.f * n >= b.f.sum(),
            "valuable": b.m * n >= b.m.sum(),
            "r_score": 1 + 5 * (b.r.rank(method="min", ascending=False).astype("int64") - 1) // n,
            "f_score": 1 + 5 * (b.f.rank(method="min").astype("int64") - 1) // n,
            "r": b.r,
            "f": b.f,
            "m": b.m,
        }
    )
    keys = ["recent", "frequent", "valuable", "r_score", "f_score"]
    sums = cells.groupby(keys).agg(n=("r", "size"), r=("r", "sum"), f=("f", "sum"), m=("m", "sum"))
    return rfm_answer([(*k, v.n, v.r, v.f, v.m) for k, v in sums.iterrows()])


def pandas_attribution(frames: Frames) -> list:
    since, until = _epoch(ATTRIBUTION["period"]["start"]), _epoch(ATTRIBUTION["period"]["end"], 1)
    buys = frames.buys()
    seconds = _seconds(buys.paid_at)
    conv = buys[(seconds >= since) & (seconds < until)].assign(
        paid=seconds[(seconds >= since) & (seconds < until)]
    )
    touches = frames.events(since - 30 * 86400, until, ["customer_id", "touchpoint", "timestamp"])
    touches = touches[touches.touchpoint.notna()]
    touches = touches.assign(ts=_seconds(touches.timestamp))[["customer_id", "touchpoint", "ts"]]
    pairs = conv[["order_id", "customer_id", "paid", "net_fen"]].merge(touches, on="customer_id")
    pairs = pairs[(pairs.ts <= pairs.paid) & (pairs.ts > pairs.paid - 30 * 86400)]
    last = pairs.sort_values(["order_id", "ts", "touchpoint"]).groupby("order_id").tail(1)
    result = last.groupby("touchpoint").agg(
        conversions=("order_id", "size"), revenue=("net_fen", "sum")
    )
    direct = conv[~conv.order_id.isin(last.order_id)]
    rows = [(k, int(v.conversions), int(v.revenue)) for k, v in result.iterrows()]
    return rows + ([("direct", len(direct), int(direct.net_fen.sum()))] if len(direct) else [])


def pandas_funnel(frames: Frames) -> list:
    since, until = _epoch(FUNNEL["period"]["start"]), _epoch(FUNNEL["period"]["end"], 1)
    window = 168 * 3600
    rows = frames.events(since, until + window, ["customer_id", "event", "timestamp"])
    rows = rows[rows.event.isin(FUNNEL_STEPS) & rows.customer_id.isin(frames.people)]
    rows = rows.assign(ts=_seconds(rows.timestamp))[["customer_id", "event", "ts"]]
    s1 = rows[(rows.event == FUNNEL_STEPS[0]) & (rows.ts < until)][["customer_id", "ts"]]
    s1 = s1.drop_duplicates().rename(columns={"ts": "started"}).assign(reached=lambda d: d.started)
    found, chain = [("step", 1, s1.customer_id.nunique(), 0)], s1
    for number, step in enumerate(FUNNEL_STEPS[1:], start=2):
        nxt = rows[rows.event == step][["customer_id", "ts"]]
        joined = chain.merge(nxt, on="customer_id")
        joined = joined[(joined.ts > joined.reached) & (joined.ts <= joined.started + window)]
        chain = joined.groupby(["customer_id", "started"]).ts.min().rename("reached").reset_index()
        found.append(("step", number, chain.customer_id.nunique(), 0))
    took = (chain.reached - chain.started).groupby(chain.customer_id).min()
    buckets = np.searchsorted(np.array([60, 3_600, 86_400, 604_800]), took.to_numpy(), "right")
    times = pd.DataFrame({"bucket": buckets, "seconds": took.to_numpy()}).groupby("bucket")
    for bucket, group in times:
        found.append(("time", bucket, len(group), int(group.seconds.sum())))
    return funnel_answer(found)


# ---------------------------------------------------------------------------------------------
# Agreement: each engine's answer reduced to the same shape


def siyu_shapes(kind: str, result) -> list:
    if kind == "retention":
        from siyu.analytics.zones import bucket_of

        return sorted(
            (bucket_of(date.fromisoformat(c.cohort), "week"), k, n)
            for c in result.cohorts
            for k, n in enumerate(c.retained)
            if n
        )
    if kind == "rfm":
        from siyu.segments.rfm import LAYERS

        flags = {name: wanted for wanted, name in LAYERS.items()}
        layers = [
            (
                "layer",
                *flags[row.layer],
                row.customers,
                round(row.recency_days, 3),
                round(row.orders, 3),
                round(row.monetary_fen, 1),
            )
            for row in result.layers
            if row.customers
        ]
        grid = [
            ("grid", r + 1, f + 1, n, 0, 0, 0)
            for r, row in enumerate(result.scores)
            for f, n in enumerate(row)
            if n
        ]
        return layers + grid
    if kind == "attribution":
        return sorted(
            (row.touchpoint, round(row.conversions), row.revenue_fen) for row in result.touchpoints
        )
    steps = [("step", k + 1, step.customers) for k, step in enumerate(result.total.steps)]
    times = [("time", b, n) for b, n in enumerate(result.time_to_convert) if n]
    mean = result.mean_seconds_to_convert
    return steps + times + [("mean", round(mean, 3) if mean is not None else None, 0)]


def normalised(rows: list) -> list:
    return sorted(tuple(int(v) if isinstance(v, (int, np.integer)) else v for v in r) for r in rows)


# ---------------------------------------------------------------------------------------------


def timed(run: Callable[[], object], seconds: float) -> tuple[float, object]:
    """The best of up to three runs, stopping once `seconds` have been spent."""
    times, answer, spent = [], None, 0.0
    while len(times) < 3 and (not times or spent < seconds):
        started = time.perf_counter()
        answer = run()
        times.append(time.perf_counter() - started)
        spent += times[-1]
    return min(times), answer


TARGETS = {"retention": 1.3, "rfm": 1.3, "attribution": 1.3, "funnels": 1.5}


def main(
    seconds: float = 10.0,
    connections: list[int] | None = None,
    as_json: bool = False,
    customers: int = CUSTOMERS,
) -> dict:
    """`connections` is the `siyu bench` command's common option; reports ignore it."""
    root = ensure_lake(customers)
    os.environ["SIYU_LAKE"] = str(root)
    os.environ["SIYU_TIMEZONE"] = "Asia/Shanghai"
    os.environ["SIYU_ENGINE"] = "duckdb"
    from siyu.analytics import runner
    from siyu.core.settings import reset_settings

    reset_settings()
    counts = json.loads((root / "counts.json").read_text())
    con, frames = sql_connection(root), Frames(root)
    cases = {
        "retention": (
            siyu_case("retention", {**RETENTION, "periods": 8}),
            sql_retention,
            pandas_retention,
        ),
        "rfm": (siyu_case("rfm", RFM), sql_rfm, pandas_rfm),
        "attribution": (
            siyu_case("attribution", {**ATTRIBUTION, "model": "last_touch", "lookback_days": 30}),
            sql_attribution,
            pandas_attribution,
        ),
        "funnels": (siyu_case("funnels", FUNNEL), sql_funnel, pandas_funnel),
    }
    rows = []
    for kind, (siyu, sql, pandas_) in cases.items():
        log.print(f"{kind} …")
        siyu()  # the lake's tables opened (once per version of its files), as in a server
        runner.forget_plans()  # then a cold run: it builds and compiles the report's SQL
        started = time.perf_counter()
        siyu()
        cold_s = time.perf_counter() - started
        siyu_s, siyu_answer = timed(siyu, seconds)
        sql_s, sql_answer = timed(lambda sql=sql: sql(con), seconds)
        pandas_s, pandas_answer = timed(lambda p=pandas_: p(frames), seconds)
        shapes = [
            normalised(siyu_shapes(kind, siyu_answer)),
            normalised(sql_answer),
            normalised(pandas_answer),
        ]
        rows.append(
            {
                "report": kind,
                "siyu_s": round(siyu_s, 3),
                "siyu_cold_s": round(cold_s, 3),
                "duckdb_sql_s": round(sql_s, 3),
                "pandas_s": round(pandas_s, 3),
                "siyu_vs_sql": round(siyu_s / sql_s, 2),
                "cold_vs_sql": round(cold_s / sql_s, 2),
                "target": TARGETS[kind],
                "agree": shapes[0] == shapes[1] == shapes[2],
            }
        )
    answer = {"machine": machine(), "lake": counts, "reports": rows}
    if as_json:
        print(json.dumps(answer, indent=2))
    else:
        table = Table(
            "report",
            "Siyu (Ibis)",
            "Siyu, cold",
            "DuckDB SQL",
            "pandas",
            "Siyu / SQL",
            "cold / SQL",
            "target",
            "same answer",
        )
        for r in rows:
            table.add_row(
                r["report"],
                f"{r['siyu_s']:.2f} s",
                f"{r['siyu_cold_s']:.2f} s",
                f"{r['duckdb_sql_s']:.2f} s",
                f"{r['pandas_s']:.2f} s",
                f"{r['siyu_vs_sql']:.2f}×",
                f"{r['cold_vs_sql']:.2f}×",
                f"≤ {r['target']}×",
                "yes" if r["agree"] else "NO",
            )
        Console().print(table)
        Console().print(f"lake: {counts}; machine: {answer['machine']}")
    return answer


if __name__ == "__main__":
    main(customers=int(os.environ.get("BENCH_CUSTOMERS", CUSTOMERS)))
