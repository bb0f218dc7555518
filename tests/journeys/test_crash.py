"""Crash test: a `siyu worker` running a journey's email send step for many customers due at
once is killed with SIGKILL in the middle of the steps, and again in the middle of sending to a
real SMTP server on loopback; after each restart it goes on. Every customer gets exactly one
message by Message-ID, each entry has one delivery, and the delivery log agrees with the server.
The step's deliveries are sent by messaging's dispatcher, which commits each email's outcome
before the next goes (as a broadcast's, tests/messaging/test_crash.py), so what is transmitted
twice is at most the one message the server accepted in the instant before the kill.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, update

from siyu.core.db import table_of, unit_of_work, utcnow
from siyu.core.jobs import Job
from siyu.core.settings import get_settings
from siyu.customers.models import Customer, Identity
from siyu.journeys import service as journeys
from siyu.journeys.models import JourneyEntry, JourneyStepRun
from siyu.messaging import policy
from siyu.messaging import service as messaging
from siyu.messaging.channels.email import message_id
from siyu.messaging.models import Channel, Consent, Delivery
from tests.messaging.smtp_server import smtp_server

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")

CUSTOMERS = 1_500
BATCH = 100  # SIYU_DISPATCH_BATCH
DEADLINE = 300.0  # seconds for the whole run, a bound on every wait
JOURNEY = {
    "key": "sale",
    "name": "Sale",
    "entry": {"event": "Signed Up"},
    "steps": [
        {
            "id": "mail",
            "kind": "send",
            "channel": "email",
            "content": {"email": {"subject": "Sale", "text": "Hi {{ id }}"}},
        }
    ],
}


def _customers(now: datetime) -> list[int]:
    """Customers with an email address and a subscription, the brand's limits out of the way."""
    with unit_of_work() as s:
        s.add(Channel(channel="email", mode="live"))
        policy.set_caps(s, [{"channel": None, "period": "day", "max": 100}])
        later = now.astimezone(get_settings().zone) + timedelta(hours=2)  # quiet hours not now
        quiet = {"start": f"{later:%H:%M}", "end": f"{later + timedelta(hours=1):%H:%M}"}
        policy.set_quiet_hours(s, [quiet])
        first = (s.scalar(select(func.max(Customer.id))) or 0) + 1
        ids = list(range(first, first + CUSTOMERS))
        s.execute(insert(table_of(Customer)), [{"id": i, "traits": {}} for i in ids])
        s.execute(
            insert(table_of(Identity)),
            [{"type": "email", "value": f"c{i}@example.com", "customer_id": i} for i in ids],
        )
        consent = {"channel": "email", "status": "subscribed", "method": "import"}
        s.execute(
            insert(table_of(Consent)),
            [
                {
                    "customer_id": i,
                    **consent,
                    "source": "crash",
                    "changed_at": now,
                    "changed_by": "t",
                }
                for i in ids
            ],
        )
    return ids


def _enter_all(ids: list[int], now: datetime) -> None:
    with unit_of_work() as s:
        journeys.create_journey(s, JOURNEY, "test")
        journeys.publish(s, "sale", "test")
    with unit_of_work() as s:
        journey = journeys.find_journey(s, "sale")
        for i in ids:
            journeys.enter(s, journey, i, f"crash:{i}", now)


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "siyu.cli", "worker"], env=env, stdout=out, stderr=out
        )


def _wait(condition: Callable[[], bool], what: str, deadline: float, worker, log: Path) -> None:
    while not condition():
        assert worker.poll() is None, f"the worker died: {log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def _kill(worker: subprocess.Popen) -> None:
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)


def _end_leases() -> None:
    """The killed worker's jobs are taken again once their lease ends (five minutes): end them
    now rather than wait."""
    with unit_of_work() as s:
        s.execute(update(Job).where(Job.status == "running").values(lease_until=utcnow()))


def _scalar(query) -> int:
    with unit_of_work() as s:
        return s.scalar(query) or 0


def _steps_run() -> int:
    return _scalar(select(func.count()).select_from(JourneyStepRun))


def _mid_batch(received: int) -> bool:
    return received >= CUSTOMERS // 2 and BATCH // 4 <= received % BATCH <= BATCH * 3 // 4


def _left() -> int:
    unsent = (
        select(func.count())
        .select_from(Delivery)
        .where(Delivery.status.in_(("planned", "sending")))
    )
    return _scalar(unsent) + CUSTOMERS - _steps_run()


def test_a_killed_worker_sends_each_journey_message_once(database_url, tmp_path, capsys):
    deadline = time.monotonic() + DEADLINE
    now = utcnow()
    ids = _customers(now)
    _enter_all(ids, now)
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
            # First in the middle of the send steps, then in the middle of sending.
            steps = "a third of the steps run"
            _wait(lambda: _steps_run() >= CUSTOMERS // 3, steps, deadline, worker, log)
            _kill(worker)
            steps_at_kill = _steps_run()
            _end_leases()
            worker = _worker(env, log)
            half = "half the messages received, in the middle of a batch"
            _wait(lambda: _mid_batch(len(mailbox.messages)), half, deadline, worker, log)
            _kill(worker)
            received_at_kill = len(mailbox.messages)
            in_flight = _scalar(
                select(func.count()).select_from(Delivery).where(Delivery.status == "sending")
            )
            _end_leases()
            with unit_of_work() as s:  # the next minute's tick would ask; no need to wait
                messaging.request_dispatch(s, utcnow())
            worker = _worker(env, log)
            _wait(lambda: _left() == 0, "every step and delivery", deadline, worker, log)
        finally:
            if worker.poll() is None:
                _kill(worker)
        received = Counter(mailbox.message_ids())
    with unit_of_work() as s:
        keys = s.scalars(select(Delivery.key)).all()
        statuses = dict(
            s.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
        )
        entries = s.scalar(select(func.count(func.distinct(Delivery.customer_id)))) or 0
        completed = s.scalar(select(func.count()).where(JourneyEntry.status == "completed"))
    assert len(keys) == CUSTOMERS and entries == CUSTOMERS  # one delivery per customer
    assert set(received) == {message_id(key, "brand.example") for key in keys}
    assert statuses == {"sent": CUSTOMERS}  # the log agrees with the server
    assert completed == CUSTOMERS
    twice = sum(count - 1 for count in received.values())
    assert twice <= 1, f"{twice} messages were transmitted twice"
    assert max(received.values()) <= 2
    with capsys.disabled():
        print(
            f"\njourney crash test: killed after {steps_at_kill} of {CUSTOMERS} send steps, "
            f"then after {received_at_kill} received ({in_flight} in flight); "
            f"{len(received)} distinct received, "
            f"{twice} transmitted twice"
        )
