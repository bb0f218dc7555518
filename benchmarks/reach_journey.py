"""`siyu bench reach`, its journey part: customers moved through a three-step journey (send an
email → tag → exit) with their timers due at once, by the worker's own job loop, in events/s.

A fresh SQLite database (migrated by Alembic) holds the customers, each with an email address
and a subscription, the published journey, and one entry per customer waiting at the send step
with its job due now (written by SQL, outside the timing: as if each had waited a day). The
timed part is `siyu worker`'s loop until no job is due: each step job checks the exit
conditions, runs its step (the planner's decision, the delivery, `Message Planned`; the tag),
records the step run with `Journey Step Completed` and books the next; the dispatcher sends the
deliveries through the console sender. Events/s counts every event those jobs wrote to the
outbox. SIYU_BENCH_JOURNEY_CUSTOMERS sets how many: 2,000 by default, so that `siyu bench reach`
stays a few minutes long; the issue's 100,000 runs at the same rate per step (the claim reads the
jobs index, it does not sort the queue) and takes most of an hour, with a progress bar: see
RESULTS.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

ROOT = Path(__file__).resolve().parents[1]
CUSTOMERS = int(os.environ.get("SIYU_BENCH_JOURNEY_CUSTOMERS", "2000"))
CHUNK = 10_000
JOURNEY = {
    "key": "bench-welcome",
    "name": "Bench: welcome",
    "entry": {"event": "Signed Up"},
    "steps": [
        {
            "id": "hello",
            "kind": "send",
            "channel": "email",
            "content": {"email": {"subject": "Welcome", "text": "Hi {{ name | default('') }}"}},
            "next": "mark",
        },
        {"id": "mark", "kind": "tag", "tag": "welcomed", "next": "done"},
        {"id": "done", "kind": "exit"},
    ],
}
log = Console(stderr=True)


def build(url: str, customers: int, now: datetime) -> None:
    """Customers with an address and consent, the journey published, every entry's send step
    due now; quiet hours set away from now so that the run does not depend on the hour."""
    from sqlalchemy import insert

    from siyu.core.db import table_of, unit_of_work
    from siyu.core.jobs import Job
    from siyu.core.settings import get_settings
    from siyu.customers.models import Customer, Identity
    from siyu.journeys import service as journeys
    from siyu.journeys.models import JourneyEntry
    from siyu.messaging import policy
    from siyu.messaging.models import Consent

    later = now.astimezone(get_settings().zone) + timedelta(hours=3)
    with unit_of_work() as s:
        quiet = {"start": f"{later:%H:%M}", "end": f"{later + timedelta(hours=1):%H:%M}"}
        policy.set_quiet_hours(s, [quiet])
        journeys.create_journey(s, JOURNEY, "bench")
        journey_id = journeys.publish(s, JOURNEY["key"], "bench").journey_id
    entered = now - timedelta(days=1)
    for first in range(1, customers + 1, CHUNK):
        ids = range(first, min(first + CHUNK, customers + 1))
        with unit_of_work() as s:
            s.execute(insert(table_of(Customer)), [{"id": i, "traits": {}} for i in ids])
            s.execute(
                insert(table_of(Identity)),
                [{"type": "email", "value": f"c{i}@example.com", "customer_id": i} for i in ids],
            )
            s.execute(
                insert(table_of(Consent)),
                [
                    {
                        "customer_id": i,
                        "channel": "email",
                        "status": "subscribed",
                        "method": "import",
                        "source": "bench",
                        "changed_at": entered,
                        "changed_by": "bench",
                    }
                    for i in ids
                ],
            )
            s.execute(
                insert(table_of(JourneyEntry)),
                [
                    {
                        "id": i,
                        "journey_id": journey_id,
                        "version": 1,
                        "customer_id": i,
                        "entry_key": f"bench:{i}",
                        "status": "active",
                        "current_step": "hello",
                        "entered_at": entered,
                        "next_at": now,
                    }
                    for i in ids
                ],
            )
            s.execute(
                insert(table_of(Job)),
                [
                    {
                        "kind": journeys.STEP_JOB,
                        "key": journeys.step_job_key(i, "hello"),
                        "payload": {"entry_id": i, "step_id": "hello"},
                        "status": "queued",
                        "run_at": now,
                        "attempts": 0,
                        "created_at": entered,
                    }
                    for i in ids
                ],
            )


def measure(customers: int = CUSTOMERS) -> dict[str, Any]:
    """Build, then run the worker's loop until nothing is due; the counts and the rate."""
    from sqlalchemy import func, select

    from siyu import subscribers, work
    from siyu.core import db
    from siyu.core.settings import reset_settings
    from siyu.events.models import OutboxEvent
    from siyu.journeys.models import JourneyEntry, JourneyStepRun
    from siyu.messaging.models import Delivery

    path = ROOT / "data" / "bench" / f"journey-{customers}.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    os.environ["SIYU_DATABASE_URL"] = url
    os.environ["SIYU_TIMEZONE"] = "Asia/Shanghai"
    os.environ["SIYU_LAKE"] = str(path.parent / "journey-lake")
    reset_settings()
    subscribers.wire()
    db.dispose_engines()
    db.upgrade(url)
    logging.getLogger("siyu.messaging").setLevel(logging.WARNING)  # the console sender's lines
    now = datetime.now(UTC)
    started = time.perf_counter()
    build(url, customers, now)
    built_s = time.perf_counter() - started
    with db.unit_of_work() as s:
        before = s.scalar(select(func.count()).select_from(OutboxEvent)) or 0
    started = time.perf_counter()
    jobs = 0
    with Progress(console=log, transient=True) as progress:
        task = progress.add_task(f"{customers:,} customers' steps", total=3 * customers)
        while work.run_one():
            jobs += 1
            if jobs % 1000 == 0:  # a count of the step runs, now and then: cheap beside a step
                with db.unit_of_work() as s:
                    done = s.scalar(select(func.count()).select_from(JourneyStepRun)) or 0
                progress.update(task, completed=done)
    spent = time.perf_counter() - started
    with db.unit_of_work() as s:
        events = (s.scalar(select(func.count()).select_from(OutboxEvent)) or 0) - before
        steps = s.scalar(select(func.count()).select_from(JourneyStepRun)) or 0
        ended = s.scalar(select(func.count()).where(JourneyEntry.status != "active")) or 0
        sent = s.scalar(select(func.count()).where(Delivery.status == "sent")) or 0
    db.dispose_engines()
    return {
        "customers": customers,
        "steps": steps,
        "jobs": jobs,
        "events": events,
        "sent": sent,
        "ended": ended,
        "seconds": round(spent, 1),
        "events_per_s": round(events / spent),
        "steps_per_s": round(steps / spent),
        "build_s": round(built_s, 1),
    }


def report(result: dict[str, Any]) -> None:
    Console().print(
        f"Journey: {result['customers']:,} customers through send → tag → exit with their "
        f"timers due at once: {result['seconds']} s, {result['events_per_s']:,} events/s "
        f"({result['events']:,} events, {result['steps']:,} steps, {result['sent']:,} sent)"
    )


def main(
    seconds: float = 10.0,
    connections: list[int] | None = None,
    as_json: bool = False,
    customers: int = CUSTOMERS,
) -> dict[str, Any]:
    """`siyu bench reach_journey`: the journey part alone (`seconds` and `connections` are
    `siyu bench`'s common options, unused here)."""
    import json

    result = {"bench": "reach", "journey": measure(customers)}
    if as_json:
        print(json.dumps(result))
    else:
        report(result["journey"])
    return result
