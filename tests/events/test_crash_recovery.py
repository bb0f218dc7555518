"""Fault test: `siyu serve` killed with SIGKILL mid-traffic loses and duplicates no event."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from siyu.core import db
from siyu.core.lake import Lake, duckdb_connection, open_lake
from siyu.core.settings import reset_settings
from siyu.events import shipper
from siyu.events.models import LakeBatch
from siyu.events.sources import create_key
from tests.conftest import PG_URL
from tests.helpers import post_batch, track

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")

CLIENTS = 4
EVENTS_PER_BATCH = 20
MAX_BATCHES = 400  # per client: a bound on the loop besides time
KILLS = 5
EXTRA_KILLS = 6  # more kills, each waiting for a held batch, until one lands mid-ship
MIN_ACKNOWLEDGED = 400  # a few thousand when ingest keeps up; far fewer means it stalled
TRAFFIC_DEADLINE = 35.0  # seconds: nothing in the test waits past this but an extra kill
USERS = 60  # shared by the clients


@dataclass
class Ledger:
    """What the clients sent and what the server acknowledged with a 200."""

    sent: set[str] = field(default_factory=set)
    acknowledged: set[str] = field(default_factory=set)
    refused: list[str] = field(default_factory=list)
    deadline: float = field(default_factory=lambda: time.monotonic() + TRAFFIC_DEADLINE)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Server:
    """`siyu serve` as a child process on a fixed loopback port, restartable after a SIGKILL."""

    def __init__(self, env: dict[str, str], log: Path):
        self.env, self.log, self.port = env, log, _free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [sys.executable, "-m", "siyu.cli", "serve", "--port", str(self.port)]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                httpx.get(f"{self.url}/docs", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.02)
        raise AssertionError("siyu serve did not come up within 30 s")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _event(rng: random.Random, message_id: str) -> dict:
    # The clients share their people, so concurrent batches also race to create the same one.
    user = str(rng.randrange(USERS))
    kind = rng.choice(("track", "track", "page", "identify"))
    event = {"type": kind, "messageId": message_id, "anonymousId": f"anon-{user}"}
    if kind == "track":
        event["event"] = rng.choice(("Product Viewed", "Coupon Claimed"))
    if kind == "identify" or rng.random() < 0.7:
        event["userId"] = f"user-{user}"
    return event


def _post_until_acknowledged(http: httpx.Client, events: list[dict], ledger: Ledger) -> bool:
    """Resend one batch until a 200, as Segment's libraries do on connection errors and 5xx."""
    while time.monotonic() < ledger.deadline:
        try:
            answer = http.post("/v1/batch", json={"batch": events})
        except httpx.TransportError:
            time.sleep(0.05)
            continue
        if answer.status_code == 200 and _counts_all(answer.json(), len(events)):
            return True
        if answer.status_code < 500:
            ledger.refused.append(f"{answer.status_code} {answer.text[:300]}")
            return False
        time.sleep(0.05)
    return False


def _counts_all(answer: dict, sent: int) -> bool:
    return answer["accepted"] + answer["duplicates"] == sent


def _client(name: str, server: Server, key: str, ledger: Ledger, stop: threading.Event) -> None:
    rng = random.Random(name)
    with httpx.Client(base_url=server.url, auth=(key, ""), timeout=5) as http:
        for n in range(MAX_BATCHES):
            if stop.is_set():
                return
            events = [_event(rng, f"{name}-{n}-{i}") for i in range(EVENTS_PER_BATCH)]
            ids = {e["messageId"] for e in events}
            with ledger.lock:
                ledger.sent |= ids
            if _post_until_acknowledged(http, events, ledger):
                with ledger.lock:
                    ledger.acknowledged |= ids
            time.sleep(rng.random() * 0.01)


def _writing_batches() -> int:
    with db.session_factory()() as session:
        return session.scalar(select(func.count()).where(LakeBatch.status == "writing")) or 0


def _wait_for_shipping(limit: float) -> None:
    """Return as soon as the shipper holds a claimed, unshipped batch (or after `limit` s)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and not _writing_batches():
        time.sleep(0.002)


@pytest.fixture
def crash_env(database_url, tmp_path, monkeypatch) -> Iterator[dict[str, str]]:
    """The server's environment; the test process points at the same database and lake."""
    url = database_url if PG_URL else f"sqlite:///{tmp_path / 'crash.db'}"
    monkeypatch.setenv("SIYU_DATABASE_URL", url)
    monkeypatch.setenv("SIYU_SHIPPER_INTERVAL_SECONDS", "0.05")
    monkeypatch.setenv("SIYU_SHIPPER_BATCH_SIZE", "200")
    monkeypatch.setenv("SIYU_COMPACT_MIN_FILES", "4")
    reset_settings()
    db.upgrade(url)
    yield dict(os.environ)
    if not PG_URL:
        db.get_engine(url).dispose()


def test_sigkilled_server_loses_and_duplicates_no_acknowledged_event(crash_env, tmp_path):
    seed = int(os.environ.get("SIYU_CRASH_SEED", random.randrange(10**6)))
    with db.unit_of_work() as session:
        _, key = create_key(session, "crash")
    server, ledger = Server(crash_env, tmp_path / "serve.log"), Ledger()
    mid_ship = _traffic_with_kills(server, key, ledger, random.Random(seed))
    _flush(crash_env)
    counts = _lake_counts(open_lake(crash_env["SIYU_LAKE"]))
    where = f"(seed {seed}; server log {server.log})"
    assert not ledger.refused, f"the server refused a batch {where}: {ledger.refused[:3]}"
    got_through = len(ledger.acknowledged)
    assert got_through >= MIN_ACKNOWLEDGED, f"only {got_through} events got through {where}"
    assert mid_ship >= 1, f"no kill landed while the shipper held a batch {where}"
    duplicated = {m: n for m, n in counts.items() if n > 1}
    assert not duplicated, f"{len(duplicated)} events are in the lake more than once {where}"
    lost = ledger.acknowledged - counts.keys()
    assert not lost, f"{len(lost)} acknowledged events are missing, e.g. {sorted(lost)[:5]} {where}"
    assert counts.keys() <= ledger.sent, f"the lake holds events never sent {where}"


def _traffic_with_kills(server: Server, key: str, ledger: Ledger, rng: random.Random) -> int:
    """Clients send while the server is SIGKILLed and restarted; returns the kills that hit
    the shipper between claiming a batch and marking it shipped."""
    stop = threading.Event()
    clients = [
        threading.Thread(target=_client, args=(f"c{n}", server, key, ledger, stop), daemon=True)
        for n in range(CLIENTS)
    ]
    mid_ship = 0
    try:
        server.start()
        for thread in clients:
            thread.start()
        for kill in range(KILLS + EXTRA_KILLS):
            if kill >= KILLS:
                if mid_ship:
                    break
                with ledger.lock:  # the clients keep sending so the shipper has batches to hold
                    ledger.deadline = max(ledger.deadline, time.monotonic() + 15)
            time.sleep(rng.uniform(0.2, 0.8))
            if kill % 2 or kill >= KILLS:
                # The processor feeds the shipper slowly under load, and a batch is held for
                # milliseconds: a busy machine can miss it, so the extra kills try again.
                _wait_for_shipping(limit=5.0)
            server.kill()
            mid_ship += _writing_batches() > 0
            server.start()
        time.sleep(0.5)
        stop.set()
        for thread in clients:
            thread.join(timeout=max(0.0, ledger.deadline - time.monotonic()) + 5)
        assert not any(t.is_alive() for t in clients), "clients did not finish"
    finally:
        stop.set()
        server.kill()
    return mid_ship


def _flush(env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "siyu.cli", "lake", "flush"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def _lake_counts(lake: Lake) -> dict[str, int]:
    rows = duckdb_connection(lake).execute(
        "SELECT message_id, count(*) FROM events GROUP BY message_id"
    )
    return dict(rows.fetchall())


def test_crash_between_two_partition_files_reships_both_once(client, write_key, monkeypatch):
    """A batch spanning two days is two files: a crash after the first re-ships both, once."""
    days = ("2026-11-10T12:00:00+08:00", "2026-11-11T12:00:00+08:00")
    post_batch(client, write_key, [track(f"E{i}", timestamp=days[i % 2]) for i in range(10)])
    lake = open_lake()
    real_write = Lake.write_atomic
    written: list[str] = []

    def crash_after_first(self: Lake, table, relative: str) -> str:
        if written:
            raise OSError("power cut")
        written.append(real_write(self, table, relative))
        return written[-1]

    monkeypatch.setattr(Lake, "write_atomic", crash_after_first)
    with pytest.raises(OSError):
        shipper.ship_once(lake=lake)
    monkeypatch.undo()
    assert len(written) == 1
    assert shipper.ship_all(lake=lake) == 10
    counts = _lake_counts(lake)
    assert len(counts) == 10 and set(counts.values()) == {1}


def test_crash_after_compaction_output_drops_inputs_on_restart(client, write_key, monkeypatch):
    """Compaction dies after writing its output: the next run drops the inputs, no duplicates."""
    lake = open_lake()
    for n in range(3):
        post_batch(client, write_key, [track(f"B{n}-{i}") for i in range(5)])
        shipper.ship_once(lake=lake)
    monkeypatch.setattr(shipper, "_drop_inputs", _raise_power_cut)
    with pytest.raises(OSError):
        shipper.compact(lake=lake, min_files=2, settled_seconds=0)
    monkeypatch.undo()
    shipper.compact(lake=lake, min_files=2, settled_seconds=0)
    counts = _lake_counts(lake)
    assert len(counts) == 15 and set(counts.values()) == {1}


def _raise_power_cut(*args, **kwargs):
    raise OSError("power cut")


def test_crash_while_compacting_around_a_late_file_loses_nothing(client, write_key, monkeypatch):
    """A batch shipped late (a second shipper, or a late PostgreSQL commit) lands inside a
    compacted range; a crash while compacting it must not drop it."""
    post_batch(client, write_key, [track(f"E{i}") for i in range(15)])
    lake = open_lake()
    with db.session_factory()() as session:
        first, late, last = (shipper.claim_batch(session, 5) for _ in range(3))
        session.commit()
        for batch in (first, last):
            shipper.mark_shipped(session, batch, shipper.write_batch(session, lake, batch))
        session.commit()
    shipper.compact(lake=lake, min_files=2, settled_seconds=0)
    assert shipper.ship_once(lake=lake) == 5  # the late batch, inside the compacted range
    monkeypatch.setattr(shipper.pq, "read_table", _raise_power_cut)
    with pytest.raises(OSError):
        shipper.compact(lake=lake, min_files=2, settled_seconds=0)
    monkeypatch.undo()
    shipper.compact(lake=lake, min_files=2, settled_seconds=0)
    counts = _lake_counts(lake)
    assert len(counts) == 15 and set(counts.values()) == {1}
