"""`siyu bench promotions`: flash-sale reservations/s through `siyu serve`, against a baseline
doing only the stock's one UPDATE (benchmarks/flash_baseline.py), on SQLite and on PostgreSQL.

The rush: one live sale whose stock (10,000,000) is far larger than the load, so nothing sells
out and every request is a reservation made, and a limit of 1 per customer (限购 1 件), every
request from a different customer making their first reservation: a crowd of buyers each
trying once, as a rush is. (A high limit shared by a few customers would measure a handful of
buyers reserving again and again on the same count rows, which no rush looks like.) So each
reservation writes what a real one writes: the customer's count (a new row), the reservation,
its `Flash Sale Reserved` event, the stock, and the answer under the request's
`Idempotency-Key` (the mall sends one with every write). The customer is named by their Siyu
id. The customers are made beforehand by one multi-row insert (benchmarks/promotions_data.py):
20,000 for the warm-ups, then as many as the measured seconds need at the warm-up's rate, so
that none is named twice.

Both servers use the same database (the same SQLite file; the same PostgreSQL schema) and the
same sale, and are measured in alternating slices (ROUNDS per side) so that a slower minute of a
shared machine hits both; the baseline is stopped (SIGSTOP) while Siyu is measured, and Siyu's
outbox is shipped to the lake before each baseline slice, so Siyu's background work does not
take the baseline's CPU. The client is benchmarks/load.py's keep-alive raw-HTTP connection on
asyncio, closed-loop, 8 and 32 connections by default. Each side's server process's own CPU per
request is measured too. Afterwards: the sale's `held` equals the 201s counted on both sides,
Siyu's held reservations and `Flash Sale Reserved` events equal its 201s, and no customer holds
more than the limit.

SQLite runs in a temporary folder; with SIYU_BENCH_DATABASE_URL (a PostgreSQL URL) the same run
follows on PostgreSQL, in a schema of its own that is dropped afterwards.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from benchmarks.ingest import ROUNDS, Server, _merge, _paused, machine, running
from benchmarks.landing import _cpu_seconds
from benchmarks.load import LoadResult, _Connection
from benchmarks.promotions_data import (
    PER_CUSTOMER,
    SALE,
    STOCK,
    Database,
    add_customers,
    open_sale,
    postgres_database,
    sanity,
    sqlite_database,
    wait_shipped,
)

WARM_CUSTOMERS = 20_000
BASELINE_WARM = 30_000  # requests ready for the baseline's warm-up: 10,000/s for 3 s
TARGET_RATIO, TARGET_PG_PER_S = 0.5, 2000
log = Console(stderr=True)


@dataclass
class Slice(LoadResult):
    """One load run, with its answers counted by status and the server's CPU seconds."""

    statuses: Counter[int] = field(default_factory=Counter)
    cpu: float = 0.0


@dataclass
class Rush:
    """The sale under load: its id, the mall's token, and the customers made but not yet used."""

    url: str
    sale_id: int
    secret: str
    customers: list[int] = field(default_factory=list)

    def take(self, count: int) -> list[int]:
        """`count` customers no request has named yet, made now when too few are left."""
        if len(self.customers) < count:
            self.customers += add_customers(self.url, count - len(self.customers))
        taken, self.customers = self.customers[:count], self.customers[count:]
        return taken


# --- the load -----------------------------------------------------------------------------------


def requests(port: int, secret: str, customers: Iterable[int], tag: str) -> list[bytes]:
    """One reservation request per customer, each under an Idempotency-Key of its own."""
    head = (
        f"POST /api/flash-sales/{SALE}/reservations HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {secret}\r\nContent-Type: application/json\r\n"
    )
    made = []
    for customer in customers:
        body = b'{"customer": %d, "quantity": 1}' % customer
        key = f"Idempotency-Key: cart-{tag}-{customer}\r\nContent-Length: {len(body)}\r\n\r\n"
        made.append((head + key).encode() + body)
    return made


async def _connection(port: int, queue: Iterator[bytes], deadline: float, result: Slice) -> None:
    connection = _Connection(port)
    try:
        while time.perf_counter() < deadline:
            request = next(queue, None)
            if request is None:
                result.exhausted = True
                return
            began = time.perf_counter()
            status, _ = await connection.post(request)  # status 0: the connection dropped
            result.latencies.append(time.perf_counter() - began)
            result.requests += 1
            result.statuses[status] += 1
            if status == 201:
                result.accepted += 1
            else:
                result.errors += 1
    finally:
        connection.close()


async def _load(
    port: int,
    queue: Iterator[bytes],
    connections: int,
    seconds: float,
    shown: Callable[[Slice, float], None],
) -> Slice:
    result = Slice(connections)
    began = time.perf_counter()
    deadline = began + seconds
    clients = asyncio.gather(
        *(_connection(port, queue, deadline, result) for _ in range(connections))
    )
    while not clients.done():
        await asyncio.wait([clients], timeout=0.25)
        shown(result, time.perf_counter() - began)
    await clients
    result.elapsed = time.perf_counter() - began
    return result


def hammer(
    server: Server,
    queue: Iterator[bytes],
    connections: int,
    seconds: float,
    shown: Callable[[Slice, float], None],
) -> Slice:
    """Post from `queue` on keep-alive `connections` until `seconds` pass or it runs out."""
    try:
        from uvloop import run
    except ImportError:  # uvicorn[standard] brings uvloop; plain asyncio also works
        run = asyncio.run
    cpu = _cpu_seconds(server.process.pid)
    result = run(_load(server.port, queue, connections, seconds, shown))
    result.cpu = _cpu_seconds(server.process.pid) - cpu
    return result


# --- one comparison -----------------------------------------------------------------------------


class Meter:
    """The progress bar's task for one comparison: time spent measuring, the current side."""

    def __init__(self, progress: Progress, title: str, total: float):
        self.progress, self.title = progress, title
        self.task = progress.add_task(title, total=total)
        self.done = 0.0

    def showing(self, what: str) -> Callable[[Slice, float], None]:
        def shown(result: Slice, elapsed: float) -> None:
            rate = result.accepted / elapsed if elapsed else 0.0
            description = f"{self.title}: {what}, {rate:,.0f} reservations/s"
            self.progress.update(self.task, completed=self.done + elapsed, description=description)

        return shown

    def finish(self, seconds: float) -> None:
        self.done += seconds

    def note(self, what: str) -> None:
        self.progress.update(self.task, description=f"{self.title}: {what}")


def warm_up_seconds(seconds: float) -> float:
    return min(3.0, seconds)


def compare(
    base: Server,
    siyu: Server,
    database: Database,
    rush: Rush,
    connections: int,
    seconds: float,
    meter: Meter,
) -> dict[str, Any]:
    """Warm both up, size the crowd by Siyu's warm rate, then alternate ROUNDS slices a side."""
    warm, part = warm_up_seconds(seconds), seconds / ROUNDS
    base_warm = requests(base.port, rush.secret, range(1, BASELINE_WARM + 1), f"w{connections}")
    first = hammer(base, iter(base_warm), connections, warm, meter.showing("baseline warm-up"))
    meter.finish(warm)
    crowd = rush.take(WARM_CUSTOMERS)
    siyu_warm = requests(siyu.port, rush.secret, crowd, f"w{connections}")
    with _paused(base):
        second = hammer(siyu, iter(siyu_warm), connections, warm, meter.showing("Siyu warm-up"))
    meter.finish(warm)
    rush.customers[:0] = crowd[second.requests :]  # the requests are sent in order
    base_queue, siyu_queue = _crowds(base, siyu, rush, first, second, part, connections)
    slices: dict[str, list[Slice]] = {"baseline": [], "siyu": []}
    shipping = 0.0
    for n in range(ROUNDS):
        meter.note(f"Siyu's outbox to the lake before slice {n + 1}")
        shipping += wait_shipped(database.url)
        shown = meter.showing(f"baseline slice {n + 1}/{ROUNDS}")
        slices["baseline"].append(hammer(base, base_queue, connections, part, shown))
        meter.finish(part)
        with _paused(base):
            shown = meter.showing(f"Siyu slice {n + 1}/{ROUNDS}")
            slices["siyu"].append(hammer(siyu, siyu_queue, connections, part, shown))
        meter.finish(part)
    return _row(database, connections, slices, (first, second), shipping)


def _crowds(
    base: Server,
    siyu: Server,
    rush: Rush,
    base_warm: Slice,
    siyu_warm: Slice,
    part: float,
    connections: int,
) -> tuple[Iterator[bytes], Iterator[bytes]]:
    """Requests for the measured slices: one and a half times what the warm-up's rates need,
    and a few more per connection and slice (a slow server's last answers come after its end)."""
    needs = [
        math.ceil(warm.accepted / warm.elapsed * part * ROUNDS * 1.5) + 4 * ROUNDS * connections
        for warm in (base_warm, siyu_warm)
    ]
    base_queue = requests(base.port, rush.secret, range(1, needs[0] + 1), f"b{connections}")
    siyu_queue = requests(siyu.port, rush.secret, rush.take(needs[1]), f"s{connections}")
    return iter(base_queue), iter(siyu_queue)


def _row(
    database: Database,
    connections: int,
    slices: dict[str, list[Slice]],
    warm: tuple[Slice, Slice],
    shipping: float,
) -> dict[str, Any]:
    ratios = [
        s.events_per_second / b.events_per_second if b.events_per_second else 0.0
        for b, s in zip(slices["baseline"], slices["siyu"], strict=True)
    ]
    row: dict[str, Any] = {"database": database.kind, "connections": connections}
    for (side, parts), warmed in zip(slices.items(), warm, strict=True):
        row[side] = _summary(parts) | {"warm_up_201": warmed.accepted}
        row[side]["statuses"] |= {f"warm-up {k}": v for k, v in warmed.statuses.items() if k != 201}
    base_rate = row["baseline"]["reservations_per_s"]
    row["ratio"] = round(row["siyu"]["reservations_per_s"] / base_rate, 3) if base_rate else 0.0
    row["slice_ratios"] = [round(r, 3) for r in ratios]
    row["shipping_wait_s"] = round(shipping, 1)
    return row


def _summary(parts: list[Slice]) -> dict[str, Any]:
    merged = _merge(list[LoadResult](parts))
    statuses = sum((part.statuses for part in parts), Counter())
    return {
        "reservations_per_s": round(merged.events_per_second),
        "reserved": merged.accepted,
        "requests": merged.requests,
        "errors": merged.errors,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "seconds": round(merged.elapsed, 2),
        "ran_out": merged.exhausted,
        "p50_ms": round(merged.latency_ms(0.50), 1),
        "p99_ms": round(merged.latency_ms(0.99), 1),
        # The server process's own CPU while measured, per request: what it would cost on a core
        # of its own, whatever else the machine was doing (PostgreSQL's backends not counted).
        "server_cpu_ms_per_request": round(
            1000 * sum(part.cpu for part in parts) / max(merged.requests, 1), 2
        ),
    }


# --- the run ------------------------------------------------------------------------------------


def measure(
    database: Database, counts: list[int], seconds: float, progress: Progress
) -> list[dict[str, Any]]:
    """Both servers on one database, a comparison per connection count, then the checks."""
    rush = Rush(database.url, *open_sale(database.url))
    started = time.perf_counter()
    rush.customers = add_customers(database.url, WARM_CUSTOMERS)
    log.print(
        f"[dim]{database.kind}: {WARM_CUSTOMERS:,} customers in "
        f"{time.perf_counter() - started:.1f} s[/dim]"
    )
    env = {
        **os.environ,
        "SIYU_DATABASE_URL": database.url,
        "SIYU_LAKE": str(database.folder / "lake"),
    }
    serve = ["-m", "siyu.cli", "serve", "--host", "127.0.0.1"]
    rows = []
    with (
        running("siyu", serve, env, database.folder) as siyu,
        running("baseline", ["-m", "benchmarks.flash_baseline"], env, database.folder) as base,
    ):
        for count in counts:
            total = 2 * (seconds + warm_up_seconds(seconds))
            meter = Meter(progress, f"{database.kind}, {count} connections", total)
            row = compare(base, siyu, database, rush, count, seconds, meter)
            rows.append(row | {"database_version": database.version})
            progress.remove_task(meter.task)
            if row["baseline"]["ran_out"] or row["siyu"]["ran_out"]:
                log.print("[yellow]the client ran out of requests: the rates are too low[/yellow]")
            log.print(
                f"{database.kind}, {count} connections: Siyu "
                f"{row['siyu']['reservations_per_s']:,}/s, baseline "
                f"{row['baseline']['reservations_per_s']:,}/s ({row['ratio']:.2f}×)"
            )
    told = {
        side: sum(row[side]["reserved"] + row[side]["warm_up_201"] for row in rows)
        for side in ("baseline", "siyu")
    }
    checked = sanity(database.url, rush.sale_id, told)
    for row in rows:
        row["sanity"] = checked
    return rows


def _databases() -> Iterator[Callable[[], AbstractContextManager[Database]]]:
    yield sqlite_database
    pg = os.environ.get("SIYU_BENCH_DATABASE_URL")
    if pg:
        if not pg.startswith("postgresql"):
            raise SystemExit("SIYU_BENCH_DATABASE_URL names a PostgreSQL database")
        yield lambda: postgres_database(pg)


def targets(rows: list[dict[str, Any]]) -> dict[str, bool | None]:
    """Each target at 32 connections: met, not met, or None when not measured."""
    at_32 = [row for row in rows if row["connections"] == 32]
    pg = [row for row in at_32 if row["database"] == "PostgreSQL"]
    return {
        f"≥ {TARGET_RATIO}× the baseline at 32 connections": (
            all(row["ratio"] >= TARGET_RATIO for row in at_32) if at_32 else None
        ),
        f"≥ {TARGET_PG_PER_S:,} reservations/s on PostgreSQL at 32 connections": (
            all(row["siyu"]["reservations_per_s"] >= TARGET_PG_PER_S for row in pg) if pg else None
        ),
    }


def _table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="POST /api/flash-sales/{key}/reservations, one server process each")
    names = ("database", "conns", "baseline /s", "Siyu /s", "ratio", "per slice")
    latencies = ("baseline p50/p99 ms", "Siyu p50/p99 ms", "CPU ms/req base/Siyu")
    for name in (*names, *latencies, "Siyu errors", "checks"):
        table.add_column(name, justify="right")
    for row in rows:
        base, siyu = row["baseline"], row["siyu"]
        table.add_row(
            row["database"],
            str(row["connections"]),
            f"{base['reservations_per_s']:,}",
            f"{siyu['reservations_per_s']:,}",
            f"{row['ratio']:.2f}×",
            " ".join(f"{r:.2f}" for r in row["slice_ratios"]),
            f"{base['p50_ms']:.1f} / {base['p99_ms']:.0f}",
            f"{siyu['p50_ms']:.1f} / {siyu['p99_ms']:.0f}",
            f"{base['server_cpu_ms_per_request']:.2f} / {siyu['server_cpu_ms_per_request']:.2f}",
            str(siyu["errors"]),
            "ok" if row["sanity"]["ok"] else "[red]FAILED[/red]",
        )
    return table


def main(
    seconds: float = 10.0, connections: list[int] | None = None, as_json: bool = False
) -> dict[str, Any]:
    """Measure Siyu and the baseline on SQLite (and PostgreSQL when asked) at each connection
    count; print a table or JSON."""
    info = machine()
    rows: list[dict[str, Any]] = []
    with Progress(console=log, transient=True, refresh_per_second=4) as progress:
        for database in _databases():
            with database() as opened:
                rows += measure(opened, connections or [32], seconds, progress)
    report: dict[str, Any] = {
        "bench": "promotions",
        "seconds": seconds,
        "stock": STOCK,
        "per_customer": PER_CUSTOMER,
    }
    report |= {"machine": info, "results": rows, "targets": targets(rows)}
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    else:
        Console().print(_table(rows))
        versions = ", ".join(sorted({f"{r['database']} {r['database_version']}" for r in rows}))
        Console().print(
            f"{info['nproc']} CPUs ({info['cpu']}), {info['ram_gib']} GiB RAM, "
            f"Python {info['python']}, {versions}, load {info['load_1m']} at the start"
        )
        for target, met in report["targets"].items():
            verdict = "not measured" if met is None else "met" if met else "[red]not met[/red]"
            Console().print(f"target {target}: {verdict}")
    if not all(row["sanity"]["ok"] and not row["siyu"]["errors"] for row in rows):
        raise SystemExit("Siyu refused reservations, or the database disagrees with its answers")
    return report
