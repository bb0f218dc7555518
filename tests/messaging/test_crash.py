"""Crash test: a `siyu worker` dispatching a 10,000-recipient email broadcast to a real SMTP
server on loopback is killed with SIGKILL mid-way and restarted. Every intended recipient gets
exactly one message by Message-ID, the delivery log agrees with the server, and what was sent
twice (SMTP takes no idempotency key) is at most the one message the server had accepted in the
instant before the kill: each acceptance is committed before the next message goes.

It runs with the rest of the suite, in CI too (a few minutes: each email is its own commit)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from siyu.core.db import table_of, unit_of_work, utcnow
from siyu.customers.models import Customer
from siyu.messaging import service
from siyu.messaging.channels.email import message_id
from siyu.messaging.models import Channel, Consent, Delivery, MessageContent
from tests.messaging.smtp_server import smtp_server

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")

RECIPIENTS = 10_000
BATCH = 200  # SIYU_DISPATCH_BATCH: the messages one connection carries
KILL_AFTER = 3_000  # messages received before the worker is killed
DEADLINE = 600.0  # seconds for the whole run, a bound on every wait (a commit per email)


def _plan_broadcast() -> list[str]:
    """10,000 subscribed customers and one planned email each; their deliveries' keys."""
    now = utcnow()
    with unit_of_work() as s:
        s.add(Channel(channel="email", mode="live"))
        content = MessageContent(
            channel="email", subject="Sale", text="Hi {{ id }}", html="<p>Hi</p>"
        )
        s.add(content)
        s.flush()
        first = (s.scalar(select(func.max(Customer.id))) or 0) + 1
        ids = list(range(first, first + RECIPIENTS))
        s.execute(insert(table_of(Customer)), [{"id": i, "traits": {}} for i in ids])
        s.execute(
            insert(table_of(Consent)),
            [
                {
                    "customer_id": i,
                    "channel": "email",
                    "status": "subscribed",
                    "method": "import",
                    "source": "crash test",
                    "changed_at": now,
                    "changed_by": "test",
                }
                for i in ids
            ],
        )
        keys = [f"test:crash:{i}" for i in ids]
        s.execute(
            insert(table_of(Delivery)),
            [
                {
                    "key": key,
                    "origin": "test",
                    "customer_id": i,
                    "channel": "email",
                    "purpose": "marketing",
                    "address": f"c{i}@example.com",
                    "content_id": content.id,
                    "content": {},
                    "status": "planned",
                    "send_at": now,
                    "attempts": 0,
                    "created_at": now,
                }
                for key, i in zip(keys, ids, strict=True)
            ],
        )
        service.request_dispatch(s, now)
    return keys


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "siyu.cli", "worker"], env=env, stdout=out, stderr=out
        )


def _wait(
    condition, what: str, deadline: float, worker: subprocess.Popen, log: Path, pause: float = 0.2
) -> None:
    while not condition():
        assert worker.poll() is None, f"the worker died: {log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(pause)


def _mid_batch(received: int) -> bool:
    return received >= KILL_AFTER and BATCH // 4 <= received % BATCH <= BATCH * 3 // 4


def _left() -> int:
    with unit_of_work() as s:
        return (
            s.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.status.in_(("planned", "sending")))
            )
            or 0
        )


def test_a_killed_worker_sends_each_email_once(database_url, tmp_path, capsys):
    deadline = time.monotonic() + DEADLINE
    keys = _plan_broadcast()
    log = tmp_path / "worker.log"
    with smtp_server() as (mailbox, port):
        env = {
            **os.environ,
            "SIYU_DATABASE_URL": database_url,
            "SIYU_LAKE": str(tmp_path / "lake"),
            "SIYU_SMTP_URL": f"smtp://127.0.0.1:{port}",
            "SIYU_MAIL_FROM": "Brand <news@brand.example>",
            "SIYU_SENDING_LEASE_SECONDS": "3",
            "SIYU_DISPATCH_BATCH": str(BATCH),
        }
        worker = _worker(env, log)
        try:
            # Killed in the middle of a batch: some of it received, the rest not yet sent.
            half = "a batch half sent"
            _wait(lambda: _mid_batch(len(mailbox.messages)), half, deadline, worker, log, 0.001)
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
            at_kill = len(mailbox.messages)
            with unit_of_work() as s:  # the next minute's tick would do it; no need to wait for it
                in_flight = s.scalar(
                    select(func.count()).select_from(Delivery).where(Delivery.status == "sending")
                )
                service.request_dispatch(s, utcnow())
            worker = _worker(env, log)
            _wait(lambda: _left() == 0, "every delivery", deadline, worker, log)
        finally:
            if worker.poll() is None:
                worker.send_signal(signal.SIGKILL)
                worker.wait(timeout=10)
        received = Counter(mailbox.message_ids())
    expected = {message_id(key, "brand.example") for key in keys}
    assert set(received) == expected  # every intended recipient, nobody else
    twice = sum(count - 1 for count in received.values())
    assert twice <= 1, f"{twice} messages were transmitted twice"
    assert max(received.values()) <= 2
    with unit_of_work() as s:
        statuses = dict(
            s.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
        )
        resent = s.scalar(select(func.count()).select_from(Delivery).where(Delivery.attempts > 1))
        logged = set(s.scalars(select(Delivery.provider_id)))
    assert statuses == {"sent": RECIPIENTS}  # the log agrees with the server
    assert statuses["sent"] == len(received)
    assert logged == {mid.strip("<>") for mid in received}  # each one by the Message-ID received
    with capsys.disabled():
        print(
            f"\ncrash test: killed after {at_kill} received with {in_flight} in flight; "
            f"{len(received)} distinct received, {sum(received.values())} transmitted, "
            f"{twice} twice, {resent} deliveries sent again after the lease"
        )
