"""`siyu bench console`: the customers list and the customer 360 at 1,000,000 customers.

Builds (once, cached under data/bench/) a SQLite database of a brand with a million customers,
their phone and user-id identities, owners, stores, touchpoints, tags and orders, copies it to a
temporary folder, serves it with `siyu serve`, signs in and times each page one request at a time:
the server's own time (the Server-Timing header the customers pages send) and the client's time
on loopback (an upper bound: it adds HTTP and the client).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from benchmarks.ingest import machine

ROOT = Path(__file__).resolve().parents[1]
CUSTOMERS = 1_000_000
DATA_VERSION = 2  # bump when the generated data changes, so the cached database is rebuilt
CHUNK = 50_000
STORES, GUIDES_PER_STORE = 40, 5
TOUCHPOINTS = 60
TAGS = ("VIP", "高潜", "宝妈", "学生", "白领", "咖啡爱好者", "茶饮控", "夜猫子", "周末党", "爱拼团")
TAGS += tuple(f"活动{n:02d}" for n in range(1, 11))
EMAIL, PASSWORD = "bench@siyu.local", "bench-password-1"
MIN_REQUESTS, MAX_REQUESTS = 20, 400
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彩春菊兰凤洁梅琳素云莲真"
)
CITIES = ("长沙", "武汉", "杭州", "上海", "深圳", "成都", "南京", "广州")
log = Console(stderr=True)
DATE = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a UTC datetime in SQLite


# ---------------------------------------------------------------------------------------------
# Building the database


def cache_path(customers: int = CUSTOMERS) -> Path:
    """One cached database per size and schema (the migration files' names)."""
    versions = ROOT / "src" / "siyu" / "core" / "migrations" / "versions"
    schema = hashlib.sha256(",".join(sorted(p.name for p in versions.glob("*.py"))).encode())
    name = f"console-{customers}-v{DATA_VERSION}-{schema.hexdigest()[:8]}.db"
    return ROOT / "data" / "bench" / name


def build(path: Path, customers: int = CUSTOMERS, seed: int = 11) -> None:
    """Migrate an empty database, then bulk-insert the brand with SQLite's fast paths."""
    from siyu.core import db

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".building")
    partial.unlink(missing_ok=True)
    db.upgrade(f"sqlite:///{partial}")
    _add_user(f"sqlite:///{partial}")
    db.dispose_engines()
    conn = sqlite3.connect(partial, isolation_level=None)
    for pragma in (
        "journal_mode=OFF",
        "synchronous=OFF",
        "cache_size=-400000",
        "temp_store=2",
        "threads=4",
    ):
        conn.execute(f"PRAGMA {pragma}")
    indexes = _drop_indexes(conn)
    brand = Brand(random.Random(seed), datetime.now(UTC))
    with _progress() as bar:
        brand.insert_reference(conn)
        task = bar.add_task("customers", total=customers)
        started, cpu, written = time.perf_counter(), time.process_time(), 0
        conn.execute("BEGIN")
        for a in range(1, customers + 1, CHUNK):
            b = min(a + CHUNK, customers + 1)
            written += brand.insert_customers(conn, a, b, customers)
            bar.update(task, completed=b - 1)
        conn.execute("COMMIT")
        rate = written / (time.perf_counter() - started)
        cpu_rate = written / (time.process_time() - cpu)
        task = bar.add_task("indexes", total=len(indexes))
        for sql in indexes:
            conn.execute(sql)
            bar.advance(task)
    log.print(
        f"[dim]{written:,} rows at {rate:,.0f} rows/s ({cpu_rate:,.0f} per CPU second), "
        f"then {len(indexes)} indexes[/dim]"
    )
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    partial.rename(path)


def _add_user(url: str) -> None:
    from siyu.core.db import unit_of_work
    from siyu.users.service import create_user

    with unit_of_work(url) as session:
        create_user(session, EMAIL, PASSWORD, "admin", name="Bench")


def _drop_indexes(conn: sqlite3.Connection) -> list[str]:
    """Secondary indexes are dropped for the load and built after it, sorted once each."""
    rows = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND "
        "tbl_name IN ('customers', 'identities', 'orders', 'customer_tags', 'outbox')"
    ).fetchall()
    for name, _sql in rows:
        conn.execute(f'DROP INDEX "{name}"')
    return [sql for _name, sql in rows]


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description:>10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=log,
    )


def _ts(seconds: str) -> str:
    """SQL for a unix time as SQLAlchemy stores a UTC datetime in SQLite."""
    return f"(strftime('%Y-%m-%d %H:%M:%S', {seconds}, 'unixepoch') || '.000000')"


def _pick(n: int) -> str:
    """SQL for a skewed pick in 1..n: the product of two uniform draws favours the low numbers."""
    return f"(1 + (abs(random()) % {n}) * (abs(random()) % {n}) / {n - 1})"


# Customers [a, b), generated inside SQLite; newer ids are newer people.
CUSTOMERS_SQL = f"""
INSERT INTO customers (id, created_at, updated_at, first_seen_at, last_seen_at, first_touchpoint,
    first_touch_at, last_touchpoint, last_touch_at, owner_id, store_id, is_identified, traits)
WITH RECURSIVE n(i) AS (SELECT :a UNION ALL SELECT i + 1 FROM n WHERE i < :b - 1),
drawn AS MATERIALIZED (
    SELECT i, :start + :span * i / :total + abs(random()) % 86400 AS first_t,
        (abs(random()) % 1000) / 1000.0 AS f,
        CASE WHEN abs(random()) % 4 = 0 THEN NULL ELSE 1 + abs(random()) % :guides END AS guide,
        'tp-' || printf('%03d', {_pick(TOUCHPOINTS)}) AS code,
        substr(:surnames, {_pick(len(SURNAMES))}, 1)
            || substr(:given, 1 + abs(random()) % length(:given), 1)
            || CASE WHEN abs(random()) % 10 < 7
                THEN substr(:given, 1 + abs(random()) % length(:given), 1) ELSE '' END AS name,
        substr(:cities, 1 + 2 * (abs(random()) % {len(CITIES)}), 2) AS city
    FROM n),
timed AS MATERIALIZED (
    SELECT *, {_ts("first_t")} AS first_s,
        {_ts("first_t + CAST((:now - first_t) * f * f AS INTEGER)")} AS last_s
    FROM drawn)
SELECT i, first_s, last_s, first_s, last_s, code, first_s, code, last_s, guide,
    (guide - 1) / {GUIDES_PER_STORE} + 1, 1,
    json_object('name', name, 'phone', '13' || printf('%09d', i), 'city', city)
FROM timed
"""

IDENTITIES_SQL = """
INSERT INTO identities (type, value, customer_id, created_at)
SELECT kind, CASE kind WHEN 'phone' THEN '13' || printf('%09d', id) ELSE 'u' || printf('%08d', id)
    END, id, first_seen_at
FROM customers, (SELECT 'phone' AS kind UNION ALL SELECT 'user_id')
WHERE id >= :a AND id < :b
"""

# 45% of customers buy, one to ten orders each, paid some time after they were first seen.
ORDERS_SQL = f"""
INSERT INTO orders (order_id, customer_id, source, status, currency, amount_fen, refunded_fen,
    paid_at, store, touchpoint, products, created_at, updated_at)
WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < 10),
buyers AS MATERIALIZED (
    SELECT id, unixepoch(first_seen_at) AS first_t, store_id, first_touchpoint,
        {_pick(10)} AS orders
    FROM customers WHERE id >= :a AND id < :b AND abs(random()) % 100 < 45),
drawn AS MATERIALIZED (
    SELECT id, n, store_id, first_touchpoint, 1800 + abs(random()) % 78200 AS amount,
        abs(random()) % 100 < 4 AS refund,
        {_ts("first_t + CAST((:now - first_t) * (abs(random()) % 1000) / 1000.0 AS INTEGER)")}
            AS paid
    FROM buyers JOIN k ON n <= orders)
SELECT 'o' || printf('%09d', id) || '-' || n, id, 'mall',
    CASE WHEN refund THEN 'refunded' ELSE 'completed' END, 'CNY', amount,
    CASE WHEN refund THEN amount ELSE 0 END, paid, 's-' || printf('%03d', coalesce(store_id, 1)),
    first_touchpoint, '[]', paid, paid
FROM drawn
"""

# 35% of customers carry one or two tags; the last tag is rare.
TAGS_SQL = f"""
INSERT INTO customer_tags (customer_id, tag_id, source, added_at)
WITH tagged AS MATERIALIZED (
    SELECT id, first_seen_at FROM customers
    WHERE id >= :a AND id < :b AND abs(random()) % 100 < 35),
drawn AS MATERIALIZED (
    SELECT id, first_seen_at, {_pick(len(TAGS))} AS tag
    FROM tagged, (SELECT 1 UNION ALL SELECT 2))
SELECT DISTINCT id, tag, 'rule', first_seen_at FROM drawn ORDER BY id, tag
"""

# A fifth of the customers have three events in the outbox (the 360's timeline), all shipped.
EVENTS_SQL = (
    """
INSERT INTO outbox (message_id, source, type, event, name, user_id, customer_id, touchpoint,
    timestamp, received_at, shipped_at, backfill, properties, traits, context)
WITH active AS MATERIALIZED (
    SELECT id, first_touchpoint, unixepoch(first_seen_at) AS first_t,
        unixepoch(last_seen_at) AS last_t
    FROM customers WHERE id >= :a AND id < :b AND abs(random()) % 100 < 20),
drawn AS MATERIALIZED (
    SELECT id, n, first_touchpoint, CASE n WHEN 1 THEN 'page' ELSE 'track' END AS type,
        """
    + _ts("first_t + (last_t - first_t) * n / 3")
    + """ AS at
    FROM active, (SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3))
SELECT 'm' || id || '-' || n, 'mall', type,
    CASE type WHEN 'track' THEN 'Product Viewed' END, CASE type WHEN 'page' THEN 'Home' END,
    'u' || printf('%08d', id), id, first_touchpoint, at, at, at, 0, '{"sku": "T01"}', '{}', '{}'
FROM drawn
"""
)

# One customer in two hundred was merged into the one before it.
MERGED_SQL = """
UPDATE customers SET merged_into_id = id - 1 WHERE id >= :a AND id < :b AND id % 200 = 0
"""


class Brand:
    """A tea-and-coffee brand: stores, guides, touchpoints, tags, then customers in chunks."""

    def __init__(self, rng: random.Random, now: datetime):
        self.rng, self.now = rng, now
        self.guides = [(g + 1, g // GUIDES_PER_STORE + 1) for g in range(STORES * GUIDES_PER_STORE)]
        self.codes = [f"tp-{n:03d}" for n in range(1, TOUCHPOINTS + 1)]

    def insert_reference(self, conn: sqlite3.Connection) -> None:
        made = self.now.strftime(DATE)
        conn.executemany(
            "INSERT INTO stores (id, code, name, city, created_at) VALUES (?, ?, ?, ?, ?)",
            [
                (s, f"s-{s:03d}", f"{CITIES[s % 8]}{s}号店", CITIES[s % 8], made)
                for s in range(1, STORES + 1)
            ],
        )
        conn.executemany(
            "INSERT INTO staff (id, name, role, store_id, created_at) VALUES (?, ?, ?, ?, ?)",
            [(g, self._name(), "guide", store, made) for g, store in self.guides],
        )
        conn.executemany(
            'INSERT INTO touchpoints (id, code, name, "group", entry_type, is_registered,'
            " created_at) VALUES (?, ?, ?, 'store', 'owned', 1, ?)",
            [(n, code, f"触点 {code}", made) for n, code in enumerate(self.codes, start=1)],
        )
        conn.executemany(
            'INSERT INTO tags (id, name, "group", created_at) VALUES (?, ?, ?, ?)',
            [(n, name, "behaviour", made) for n, name in enumerate(TAGS, start=1)],
        )

    def insert_customers(self, conn: sqlite3.Connection, a: int, b: int, total: int) -> int:
        """Customers a..b-1 with their identities, orders and tags; returns rows written."""
        now = int(self.now.timestamp())
        params = {
            "a": a,
            "b": b,
            "total": total,
            "now": now,
            "start": now - 730 * 86_400,
            "span": 725 * 86_400,
            "guides": len(self.guides),
            "surnames": SURNAMES,
            "given": GIVEN,
            "cities": "".join(CITIES),
        }
        written = 0
        for sql in (CUSTOMERS_SQL, IDENTITIES_SQL, ORDERS_SQL, TAGS_SQL, EVENTS_SQL, MERGED_SQL):
            written += conn.execute(sql, params).rowcount
        return written

    def _name(self) -> str:
        rng = self.rng
        given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
        return rng.choice(SURNAMES[:20]) + given


def ensure_database(customers: int = CUSTOMERS) -> Path:
    path = cache_path(customers)
    if path.exists():
        log.print(f"[dim]reusing the cached {customers:,}-customer database[/dim]")
    else:
        log.print(f"building a {customers:,}-customer database (cached for the next run) …")
        started = time.perf_counter()
        build(path, customers)
        log.print(f"[dim]built in {time.perf_counter() - started:.0f} s[/dim]")
    return path


# ---------------------------------------------------------------------------------------------
# Serving and measuring


@dataclass
class Timing:
    page: str
    server_ms: list[float]
    client_ms: list[float]

    def row(self) -> dict:
        return {
            "page": self.page,
            "requests": len(self.client_ms),
            "server_p50_ms": _pct(self.server_ms, 0.50),
            "server_p95_ms": _pct(self.server_ms, 0.95),
            "client_p50_ms": _pct(self.client_ms, 0.50),
            "client_p95_ms": _pct(self.client_ms, 0.95),
        }


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1], 1)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving(database: Path) -> Iterator[str]:
    """`siyu serve` on a copy of the cached database; yields its base URL and always stops it."""
    with tempfile.TemporaryDirectory(prefix="siyu-bench-console-") as folder:
        copy = Path(folder) / "siyu.db"
        shutil.copyfile(database, copy)
        env = {**os.environ, "SIYU_DATABASE_URL": f"sqlite:///{copy}"}
        env["SIYU_LAKE"] = str(Path(folder) / "lake")
        port, logfile = _free_port(), Path(folder) / "serve.log"
        command = [sys.executable, "-m", "siyu.cli", "serve", "--port", str(port)]
        with open(logfile, "wb") as output:
            process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=output, stderr=output)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_ready(base, process, logfile)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(base: str, process: subprocess.Popen, logfile: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"siyu serve exited:\n{logfile.read_text()[-2000:]}")
        try:
            httpx.get(f"{base}/healthz", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError("siyu serve did not answer within 60 s")


def sign_in(client: httpx.Client) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]*)"', page.text).group(1)
    answer = client.post(
        "/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token, "next": "/"}
    )
    if answer.status_code != 303:
        raise RuntimeError(f"could not sign in: {answer.status_code}")


def pages(database: Path, rng: random.Random) -> dict[str, Callable[[], str]]:
    """Each measured page, as a function giving the next URL (searches vary per request)."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    total = conn.execute("SELECT max(id) FROM customers").fetchone()[0]
    guide = conn.execute(
        "SELECT owner_id FROM customers WHERE owner_id IS NOT NULL LIMIT 1"
    ).fetchone()[0]
    rare_tag = len(TAGS)
    conn.close()
    deep = total // 10
    return {
        "list, first page": lambda: "/customers",
        "list, owner + lifecycle": lambda: f"/customers?owner={guide}&lifecycle=active",
        "list, deep page (keyset)": lambda: f"/customers?after={deep + rng.randrange(1000)}",
        "search by phone": lambda: f"/customers?q=13{rng.randrange(1, total):09d}",
        "search by name prefix": lambda: f"/customers?q={rng.choice(SURNAMES[:10])}芳",
        "list, rare tag + lifecycle": lambda: f"/customers?tag={rare_tag}&lifecycle=churned",
        # Every 200th customer was merged away, and its address redirects to the survivor.
        "customer 360": lambda: (
            f"/customers/{rng.randrange(total // 200) * 200 + rng.randrange(1, 200)}"
        ),
    }


def measure(client: httpx.Client, page: str, next_url: Callable[[], str], seconds: float) -> Timing:
    for _ in range(3):
        client.get(next_url())
    timing = Timing(page, [], [])
    deadline = time.monotonic() + seconds
    while len(timing.client_ms) < MAX_REQUESTS and (
        len(timing.client_ms) < MIN_REQUESTS or time.monotonic() < deadline
    ):
        url = next_url()
        started = time.perf_counter()
        answer = client.get(url)
        timing.client_ms.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise RuntimeError(f"{url} answered {answer.status_code}")
        found = re.search(r"dur=([\d.]+)", answer.headers.get("server-timing", ""))
        if found:
            timing.server_ms.append(float(found.group(1)))
    return timing


def _table(rows: list[dict], customers: int) -> Table:
    table = Table(title=f"Console pages at {customers:,} customers, one request at a time")
    table.add_column("page")
    for name in ("requests", "server p50", "server p95", "client p50", "client p95"):
        table.add_column(name, justify="right")
    for row in rows:
        table.add_row(
            row["page"],
            str(row["requests"]),
            *(
                f"{row[k]:.1f} ms" if row[k] is not None else "–"
                for k in ("server_p50_ms", "server_p95_ms", "client_p50_ms", "client_p95_ms")
            ),
        )
    return table


def main(
    seconds: float = 10.0,
    connections: list[int] | None = None,
    as_json: bool = False,
    customers: int = CUSTOMERS,
) -> None:
    """Times the console's customer pages; `connections` is unused (one request at a time)."""
    database = ensure_database(customers)
    rng = random.Random(5)
    urls = pages(database, rng)
    rows = []
    with serving(database) as base, httpx.Client(base_url=base, timeout=60) as client:
        sign_in(client)
        for page, next_url in urls.items():
            log.print(f"[dim]{page} …[/dim]")
            rows.append(measure(client, page, next_url, seconds).row())
    report = {"customers": customers, "machine": machine(), "results": rows}
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        return
    Console().print(_table(rows, customers))
    info = report["machine"]
    Console().print(
        f"{info['nproc']} CPUs ({info['cpu']}), {info['ram_gib']} GiB RAM, Python {info['python']}"
    )
