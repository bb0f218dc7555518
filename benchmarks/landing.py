"""`siyu bench landing`: the QR landing `/q/{code}` at a fixed 1,000 scans/s on loopback.

An open-loop load: requests are due at a steady rate whatever the server does, and each one's
latency is measured from when it was due (so a stalled server cannot hide its queue: no
coordinated omission). The client speaks raw HTTP/1.1 over keep-alive connections on asyncio,
so it costs little of the CPU the server needs. Afterwards every acknowledged scan must be in
the lake exactly once.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks.ingest import _siyu, machine, serving

RATE = 1000  # scans per second
TARGET_P99_MS = 20.0
CODE = "bench-poster"
USER_AGENT = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) MicroMessenger/8.0.44"
log = Console(stderr=True)


@dataclass
class Run:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    redirects: int = 0
    elapsed: float = 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def _one_connection(port: int, due: asyncio.Queue, run: Run, record: bool) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = (
        f"GET /q/{CODE} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: {USER_AGENT}\r\n\r\n"
    ).encode()
    try:
        while True:
            when = await due.get()
            if when is None:
                return
            writer.write(request)
            status, length = await _read_head(reader)
            if length:
                await reader.readexactly(length)
            if record:
                run.latencies_ms.append((time.perf_counter() - when) * 1000)
                run.redirects += status == 302
                run.errors += status != 302
    finally:
        writer.close()


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, int]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    return status, length


async def _load(port: int, connections: int, seconds: float, record: bool) -> Run:
    run, due = Run(), asyncio.Queue()
    workers = [
        asyncio.create_task(_one_connection(port, due, run, record)) for _ in range(connections)
    ]
    start = time.perf_counter()
    total = int(RATE * seconds)
    for n in range(total):
        when = start + n / RATE
        delay = when - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        due.put_nowait(when)
    for _ in workers:
        due.put_nowait(None)
    await asyncio.gather(*workers)
    run.elapsed = time.perf_counter() - start
    return run


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _lake_scans(env: dict[str, str]) -> tuple[int, int]:
    from siyu.core.lake import duckdb_connection, open_lake

    _siyu("lake", "flush", env=env)
    conn = duckdb_connection(open_lake(env["SIYU_LAKE"]))
    return conn.execute(
        "SELECT count(*), count(DISTINCT message_id) FROM events WHERE event = 'QR Code Scanned'"
    ).fetchone()


def _run_one(connections: int, seconds: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="siyu-bench-landing-") as folder:
        with serving("siyu", Path(folder)) as server:
            _siyu(
                "codes",
                "create",
                "--name",
                "Bench poster",
                "--code",
                CODE,
                "--kind",
                "poster",
                "--target",
                "https://example.com/landing",
                env=server.env,
            )
            log.print(
                f"[dim]landing: {connections} connections, {RATE}/s for {seconds:g} s …[/dim]"
            )
            asyncio.run(_load(server.port, connections, min(3.0, seconds / 3), record=False))
            cpu_before = _cpu_seconds(server.process.pid)
            warm = asyncio.run(_load(server.port, connections, seconds, record=True))
            cpu = _cpu_seconds(server.process.pid) - cpu_before
        scans, distinct = _lake_scans(server.env)
    acked = int(RATE * min(3.0, seconds / 3)) + warm.redirects
    return {
        "connections": connections,
        "rate_per_s": RATE,
        "requests": len(warm.latencies_ms),
        "achieved_per_s": round(len(warm.latencies_ms) / warm.elapsed) if warm.elapsed else 0,
        "errors": warm.errors,
        "p50_ms": round(warm.percentile(0.50), 1),
        "p99_ms": round(warm.percentile(0.99), 1),
        "max_ms": round(max(warm.latencies_ms, default=0.0), 1),
        # The server's own CPU per scan while measured (request path, processor, shipper): what
        # a core of its own would need, whatever else the machine was doing.
        "server_cpu_ms_per_scan": round(cpu * 1000 / max(len(warm.latencies_ms), 1), 2),
        "sanity": {
            "redirected": acked,
            "in_lake": scans,
            "distinct": distinct,
            "ok": acked == scans == distinct,
        },
    }


def main(
    seconds: float = 10.0, connections: list[int] | None = None, as_json: bool = False
) -> None:
    """Measure the landing at 1,000 scans/s for each connection count; print a table or JSON."""
    info = machine()
    rows = [_run_one(count, seconds) for count in connections or [8, 32]]
    report = {"seconds": seconds, "rate_per_s": RATE, "target_p99_ms": TARGET_P99_MS}
    report |= {"machine": info, "results": rows}
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        table = Table(title=f"/q/{{code}} at {RATE:,} scans/s, one `siyu serve` process")
        names = ("conns", "requests", "achieved/s", "errors", "p50 ms", "p99 ms", "max ms")
        for name in (*names, "CPU ms/scan"):
            table.add_column(name, justify="right")
        table.add_column("lake = redirected", justify="right")
        for r in rows:
            table.add_row(
                str(r["connections"]),
                f"{r['requests']:,}",
                f"{r['achieved_per_s']:,}",
                str(r["errors"]),
                f"{r['p50_ms']:.1f}",
                f"{r['p99_ms']:.1f}",
                f"{r['max_ms']:.0f}",
                f"{r['server_cpu_ms_per_scan']:.2f}",
                "yes" if r["sanity"]["ok"] else "[red]NO[/red]",
            )
        Console().print(table)
        Console().print(
            f"{info['nproc']} CPUs ({info['cpu']}), {info['ram_gib']} GiB RAM, "
            f"Python {info['python']}, load {info['load_1m']} at the start; "
            f"target p99 ≤ {TARGET_P99_MS:g} ms"
        )
    if not all(r["sanity"]["ok"] and not r["errors"] for r in rows):
        raise SystemExit("the landing failed requests, or lost scans it had redirected")
