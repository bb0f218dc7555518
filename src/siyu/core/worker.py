"""The job worker: books the schedules' due ticks and runs due jobs, in any number of processes."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from siyu.core import jobs
from siyu.core.db import session_factory, unit_of_work, write_lock
from siyu.core.schedule import Schedule, book_due
from siyu.core.settings import get_settings

log = logging.getLogger("siyu.jobs")
SCHEDULE_CHECK_SECONDS = 15.0  # how often a worker books the schedules' due ticks


class Worker(threading.Thread):
    """Runs due jobs and books the schedules' ticks until stopped; `siyu serve` starts one,
    `siyu worker` runs more. Any number of workers may run: a tick is one job, and a job runs
    under one worker's lease."""

    def __init__(
        self,
        handlers: jobs.Handlers,
        schedules: Sequence[Schedule] = (),
        idle_seconds: float = 1.0,
    ):
        super().__init__(name="siyu-worker", daemon=True)
        self.handlers, self.schedules = handlers, schedules
        self.idle_seconds = idle_seconds
        self.stopping = threading.Event()

    def run(self) -> None:
        factory = session_factory()
        booked_at = float("-inf")
        while not self.stopping.is_set():
            try:
                if time.monotonic() - booked_at >= SCHEDULE_CHECK_SECONDS:
                    book_ticks(factory, self.schedules)
                    booked_at = time.monotonic()
                ran = jobs.run_one(self.handlers, factory)
            except Exception:
                log.exception("job worker error")
                ran = False
            if not ran:
                self.stopping.wait(self.idle_seconds)

    def stop(self) -> None:
        self.stopping.set()


def book_ticks(
    factory: sessionmaker[Session], schedules: Sequence[Schedule], now: datetime | None = None
) -> int:
    """Book every schedule's latest tick as a job (one transaction); returns how many were new."""
    if not schedules:
        return 0
    with write_lock(), unit_of_work(factory=factory) as session:
        return book_due(session, schedules, get_settings().zone, now)
