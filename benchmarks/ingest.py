"""`siyu bench ingest`: events/s through /v1/batch, Siyu against a validate-and-append baseline."""

from __future__ import annotations

import json
import math
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from benchmarks.load import EVENTS_PER_REQUEST, LoadResult, make_bodies, run_load

ROOT = Path(__file__).resolve().parents[1]
WARMUP_BODIES = 300
log = Console(stderr=True)


@dataclass
class Server:
    """A server under test, running as its own process on a loopback port."""

    kind: str
    port: int
    process: subprocess.Popen
    env: dict[str, str]
    write_key: str = "bench"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _siyu(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "siyu.cli", *args]
    return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=True)


def _wait_ready(server: Server, logfile: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.kind} exited:\n{logfile.read_text()[-2000:]}")
        try:
            httpx.get(f"http://127.0.0.1:{server.port}/docs", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{server.kind} did not answer within {timeout:.0f} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def serving(kind: str, folder: Path) -> Iterator[Server]:
    """Start `siyu serve` (fresh SQLite DB and lake) or the baseline; always stop it."""
    env = {
        **os.environ,
        "SIYU_DATABASE_URL": f"sqlite:///{folder / 'siyu.db'}",
        "SIYU_LAKE": str(folder / "lake"),
    }
    if kind == "siyu":
        key = _siyu("keys", "create", "--name", "bench", env=env).stdout.strip().splitlines()[-1]
        args = ["-m", "siyu.cli", "serve", "--host", "127.0.0.1"]
    else:
        key = "bench"  # the baseline checks no key
        args = ["-m", "benchmarks.baseline_server", "--out", str(folder / "events.jsonl")]
    with running(kind, args, env, folder, key) as server:
        yield server


@contextmanager
def running(
    kind: str, args: list[str], env: dict[str, str], folder: Path, key: str = "bench"
) -> Iterator[Server]:
    """`python ARGS --port N` on a free loopback port, its output in FOLDER/KIND.log, until it
    answers; always stopped."""
    port, logfile = _free_port(), folder / f"{kind}.log"
    with open(logfile, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, *args, "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=output,
            stderr=output,
        )
    server = Server(kind, port, process, env, key)
    try:
        _wait_ready(server, logfile)
        yield server
    finally:
        _stop(process)


ROUNDS = 5  # slices per side, alternated, so a slower minute of a shared machine hits both


@contextmanager
def _paused(server: Server) -> Iterator[None]:
    """Stop the server's process (SIGSTOP) while the other one is measured: an idle Siyu still
    processes its inbox, and must not take CPU from the baseline's turn."""
    server.process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        server.process.send_signal(signal.SIGCONT)


def _warm(server: Server, connections: int, seconds: float) -> LoadResult:
    bodies = make_bodies(WARMUP_BODIES, f"w{connections}")
    return run_load(server.port, server.write_key, bodies, connections, min(3.0, seconds))


def _merge(parts: list[LoadResult]) -> LoadResult:
    merged = LoadResult(parts[0].connections)
    for part in parts:
        merged.accepted += part.accepted
        merged.requests += part.requests
        merged.errors += part.errors
        merged.failed += part.failed
        merged.elapsed += part.elapsed
        merged.exhausted |= part.exhausted
        merged.latencies += part.latencies
    return merged


def _compare(base: Server, siyu: Server, connections: int, seconds: float) -> dict:
    """Warm both up, then measure them in alternating slices (the other one paused)."""
    with _paused(siyu):
        rate = _warm(base, connections, seconds).events_per_second
    with _paused(base):
        warm = _warm(siyu, connections, seconds)
    rate = max(rate, warm.events_per_second)
    per_slice = math.ceil(rate * seconds / ROUNDS * 1.5 / EVENTS_PER_REQUEST) + 4 * connections
    pools = {
        kind: [make_bodies(per_slice, f"{kind}{connections}-{n}") for n in range(ROUNDS)]
        for kind in ("baseline", "siyu")
    }
    _drain(siyu)  # start from an empty inbox, as a server that kept up would
    slices: dict[str, list[LoadResult]] = {"baseline": [], "siyu": []}
    for n in range(ROUNDS):
        for server, other in ((base, siyu), (siyu, base)):
            with _paused(other):
                bodies = pools[server.kind][n]
                slices[server.kind].append(
                    run_load(server.port, server.write_key, bodies, connections, seconds / ROUNDS)
                )
    ratios = [
        s.events_per_second / b.events_per_second if b.events_per_second else 0.0
        for b, s in zip(slices["baseline"], slices["siyu"], strict=True)
    ]
    return {
        "baseline": _merge(slices["baseline"]),
        "siyu": _merge(slices["siyu"]),
        "acked": warm.accepted + sum(part.accepted for part in slices["siyu"]),
        "slice_ratios": [round(r, 3) for r in ratios],
    }


def _drain(server: Server, limit: float = 600.0) -> dict:
    """After the load stops: how long the server's own processor takes to apply the backlog."""
    from sqlalchemy import create_engine, text

    engine = create_engine(server.env["SIYU_DATABASE_URL"])
    query = text("SELECT coalesce(sum(events), 0) FROM tracking_inbox")
    started = time.monotonic()
    with engine.connect() as conn:
        backlog = waiting = conn.execute(query).scalar_one()
        while waiting and time.monotonic() - started < limit:
            time.sleep(0.5)
            waiting = conn.execute(query).scalar_one()
    engine.dispose()
    seconds = time.monotonic() - started
    return {
        "backlog": backlog,
        "seconds": round(seconds, 1),
        "events_per_s": round(backlog / seconds) if backlog and not waiting else None,
        "left": waiting,
    }


def _lake_events(server: Server) -> tuple[int, int]:
    """Ship whatever waits, then count the lake's events and distinct messageIds."""
    from siyu.core.lake import duckdb_connection, open_lake

    _siyu("lake", "flush", env=server.env)
    conn = duckdb_connection(open_lake(server.env["SIYU_LAKE"]))
    return conn.execute("SELECT count(*), count(DISTINCT message_id) FROM events").fetchone()


def _run_pair(connections: int, seconds: float) -> dict:
    with (
        tempfile.TemporaryDirectory(prefix="siyu-bench-baseline-") as base_folder,
        tempfile.TemporaryDirectory(prefix="siyu-bench-siyu-") as siyu_folder,
        serving("baseline", Path(base_folder)) as base,
        serving("siyu", Path(siyu_folder)) as siyu,
    ):
        log.print(
            f"[dim]{connections} connections: {ROUNDS} × {seconds / ROUNDS:.3g} s each …[/dim]"
        )
        measured = _compare(base, siyu, connections, seconds)
        drained = _drain(siyu)
        _stop(siyu.process)
        events, distinct = _lake_events(siyu)
    row = {"connections": connections, "slice_ratios": measured["slice_ratios"]}
    row["baseline"] = _summary(measured["baseline"])
    row["siyu"] = _summary(measured["siyu"]) | {"drain": drained}
    acked = measured["acked"]
    row["siyu"]["sanity"] = {
        "acknowledged": acked,
        "in_lake": events,
        "distinct": distinct,
        "ok": acked == events == distinct,
    }
    base_rate = row["baseline"]["events_per_s"]
    row["ratio"] = round(row["siyu"]["events_per_s"] / base_rate, 3) if base_rate else 0.0
    return row


def _summary(result: LoadResult) -> dict:
    return {
        "events_per_s": round(result.events_per_second),
        "requests": result.requests,
        "errors": result.errors,
        "failed": result.failed,
        "seconds": round(result.elapsed, 2),
        "pool_exhausted": result.exhausted,
        "p50_ms": round(result.latency_ms(0.50), 1),
        "p99_ms": round(result.latency_ms(0.99), 1),
    }


def machine() -> dict:
    """The machine, without names or paths: CPUs, CPU model, RAM, Python, load when started."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next(
        (ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines() if "model name" in ln), ""
    )
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    kb = next((int(ln.split()[1]) for ln in meminfo.splitlines() if ln.startswith("MemTotal")), 0)
    return {
        "nproc": os.cpu_count(),
        "cpu": model or platform.processor(),
        "ram_gib": round(kb / 1024**2, 1),
        "python": platform.python_version(),
        "load_1m": round(os.getloadavg()[0], 1),
    }


def _table(rows: list[dict]) -> Table:
    table = Table(title=f"/v1/batch, {EVENTS_PER_REQUEST} events per request, one server process")
    for name in (
        "conns",
        "baseline ev/s",
        "Siyu ev/s",
        "ratio",
        "per slice",
        "baseline p50/p99 ms",
    ):
        table.add_column(name, justify="right")
    for name in ("Siyu p50/p99 ms", "Siyu errors", "processed after, ev/s", "lake = acked"):
        table.add_column(name, justify="right")
    for row in rows:
        base, siyu = row["baseline"], row["siyu"]
        table.add_row(
            str(row["connections"]),
            f"{base['events_per_s']:,}",
            f"{siyu['events_per_s']:,}",
            f"{row['ratio']:.2f}×",
            " ".join(f"{r:.2f}" for r in row["slice_ratios"]),
            f"{base['p50_ms']:.0f} / {base['p99_ms']:.0f}",
            f"{siyu['p50_ms']:.0f} / {siyu['p99_ms']:.0f}",
            str(siyu["errors"]),
            f"{siyu['drain']['events_per_s'] or 0:,}",
            "yes" if siyu["sanity"]["ok"] else "[red]NO[/red]",
        )
    return table


def main(
    seconds: float = 10.0, connections: list[int] | None = None, as_json: bool = False
) -> None:
    """Measure the baseline and Siyu at each connection count; print a table or JSON."""
    info = machine()
    rows = [_run_pair(count, seconds) for count in connections or [8, 32]]
    report = {"seconds": seconds, "events_per_request": EVENTS_PER_REQUEST, "machine": info}
    report["results"] = rows
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        Console().print(_table(rows))
        Console().print(
            f"{info['nproc']} CPUs ({info['cpu']}), {info['ram_gib']} GiB RAM, "
            f"Python {info['python']}, load {info['load_1m']} at the start"
        )
    if not all(row["siyu"]["sanity"]["ok"] and not row["siyu"]["failed"] for row in rows):
        raise SystemExit("Siyu lost acknowledged events, or gave up on batches after retries")
