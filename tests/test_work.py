"""One scheduler: recurring work booked as jobs, each tick run once whatever the number of
workers, a missed tick run once after downtime, and every enqueued kind has its handler."""

from __future__ import annotations

import ast
import importlib
import json
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from siyu import work
from siyu.cli import app
from siyu.core import jobs
from siyu.core.db import session_factory, unit_of_work, utcnow
from siyu.core.schedule import Schedule, book_due
from siyu.core.settings import get_settings
from siyu.core.worker import book_ticks
from siyu.segments import service as segments
from siyu.segments.models import SegmentRefresh

SRC = Path(__file__).resolve().parents[1] / "src" / "siyu"
EVERY_MINUTE = Schedule("test-minute", "* * * * *", "test.tick", "count ticks")
runs: list[dict] = []
runs_lock = threading.Lock()


def _count(session, payload: dict) -> None:
    time.sleep(0.05)  # long enough for a second worker to try the same job meanwhile
    with runs_lock:
        runs.append(payload)


HANDLERS = {"test.tick": _count}


def _worker_round(start: threading.Barrier, now: datetime) -> None:
    """What one worker does each round: book the due ticks, then run what is due."""
    factory = session_factory()
    start.wait()
    book_ticks(factory, [EVERY_MINUTE], now)
    while jobs.run_one(HANDLERS, factory):
        pass


def test_two_workers_racing_for_one_tick_run_it_once():
    runs.clear()
    now = utcnow()
    start = threading.Barrier(2)
    workers = [threading.Thread(target=_worker_round, args=(start, now)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert len(runs) == 1
    with unit_of_work() as s:
        assert s.scalars(select(jobs.Job.status)).all() == ["done"]


def test_a_tick_missed_during_downtime_runs_once():
    runs.clear()
    zone = get_settings().zone
    before = utcnow() - timedelta(hours=3)
    with unit_of_work() as s:
        assert book_due(s, [EVERY_MINUTE], zone, before) == 1
    assert jobs.run_one(HANDLERS) and not jobs.run_one(HANDLERS)
    # three hours down: 180 ticks went by, the worker comes back and books only the latest
    now = utcnow()
    with unit_of_work() as s:
        assert book_due(s, [EVERY_MINUTE], zone, now) == 1
        assert book_due(s, [EVERY_MINUTE], zone, now) == 0
    while jobs.run_one(HANDLERS):
        pass
    assert len(runs) == 2
    with unit_of_work() as s:
        keys = s.scalars(select(jobs.Job.key).order_by(jobs.Job.run_at)).all()
    assert keys[-1] == EVERY_MINUTE.tick_key(EVERY_MINUTE.latest_tick(now, zone))


def test_a_tick_is_read_in_the_brand_time_zone():
    nightly = Schedule("test-night", "30 3 * * *", "test.tick", "at night")
    zone = get_settings().zone  # Asia/Shanghai: 03:30 there is 19:30 UTC the day before
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    assert nightly.latest_tick(now, zone) == datetime(2026, 12, 5, 19, 30, tzinfo=UTC)
    assert nightly.next_tick(now, zone) == datetime(2026, 12, 6, 19, 30, tzinfo=UTC)


def test_the_latest_tick_is_never_in_the_future():
    """In the last second of a minute the latest tick is that minute's, not the next one's: a
    tick booked as due must be due (a booking in that second once waited for the next minute,
    and the tests that book and run a tick at once failed when they ran in it)."""
    zone = get_settings().zone
    tick = datetime(2026, 12, 6, 12, 4, tzinfo=UTC)
    for now in (tick, tick + timedelta(microseconds=1), tick + timedelta(seconds=59.5)):
        assert EVERY_MINUTE.latest_tick(now, zone) == tick, now
    assert EVERY_MINUTE.latest_tick(tick - timedelta(microseconds=1), zone) < tick


def _enqueued_kinds() -> dict[str, str]:
    """Every job kind a call to enqueue names anywhere in src/siyu (literal or constant), with
    the file it is in."""
    kind = re.compile(r"^[a-z_]+\.[a-z_]+$")
    found: dict[str, str] = {}
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module = None
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func
            name = name.id if isinstance(name, ast.Name) else name
            if not (isinstance(name, str) and name.endswith("enqueue")):
                continue
            for arg in node.args:
                value = None
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    value = arg.value
                elif isinstance(arg, ast.Name):
                    dotted = ".".join(path.relative_to(SRC.parent).with_suffix("").parts)
                    module = module or importlib.import_module(dotted)
                    value = getattr(module, arg.id, None)
                if isinstance(value, str) and kind.match(value):
                    found[value] = str(path.relative_to(SRC))
    return found


def test_every_job_kind_enqueued_anywhere_has_a_handler_and_every_handler_a_source():
    enqueued = _enqueued_kinds()
    assert {"wecom.callback", "segments.refresh", "imports.run", "tags.bulk"} <= set(enqueued)
    missing = {k: where for k, where in enqueued.items() if k not in work.HANDLERS}
    assert missing == {}, f"kinds enqueued with no handler in siyu.work: {missing}"
    scheduled = {s.kind for s in work.SCHEDULES}
    assert scheduled <= set(work.HANDLERS)
    assert set(work.HANDLERS) == set(enqueued) | scheduled  # no handler that nothing books


def test_schedule_names_are_unique_and_their_crons_valid():
    names = [s.name for s in work.SCHEDULES]
    assert len(names) == len(set(names))
    assert {"wecom-tag-push", "segment-refresh", "wecom-sync", "jobs-prune"} <= set(names)


def test_a_due_scheduled_segment_is_refreshed_by_the_schedule():
    with unit_of_work() as s:
        segment = segments.create_segment(
            s, "daily", "Daily", {"event": "Order Completed"}, "daily"
        )
        segment.next_refresh_at = utcnow() - timedelta(minutes=1)
    with unit_of_work() as s:
        segment_refresh = [x for x in work.SCHEDULES if x.name == "segment-refresh"]
        assert book_due(s, segment_refresh, get_settings().zone) == 1
    while work.run_one():
        pass
    with unit_of_work() as s:
        run = s.scalar(select(SegmentRefresh))
        assert run.status == "done" and run.reason == "schedule"
        daily = segments.find_segment(s, "daily")
        assert daily.refreshed_at is not None and daily.next_refresh_at > utcnow()


def test_old_clock_jobs_and_nonces_are_pruned_by_their_schedule():
    with unit_of_work() as s:
        old = jobs.enqueue(s, "wecom.tags", "wecom.tags:202601010000")
        old.status, old.finished_at = "done", utcnow() - timedelta(days=8)
        kept = jobs.enqueue(s, "codes.batch", "codes-batch:1")
        kept.status, kept.finished_at = "done", utcnow() - timedelta(days=8)
        book_due(s, [x for x in work.SCHEDULES if x.name == "jobs-prune"], get_settings().zone)
    while work.run_one():
        pass
    with unit_of_work() as s:
        keys = set(s.scalars(select(jobs.Job.key)))
    assert "wecom.tags:202601010000" not in keys and "codes-batch:1" in keys


def test_the_cli_lists_the_schedules_with_their_next_run():
    result = CliRunner().invoke(app, ["jobs", "schedule", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert set(rows) == {s.name for s in work.SCHEDULES}
    assert rows["wecom-sync"]["cron"] == "30 3 * * *"
    assert datetime.fromisoformat(rows["wecom-sync"]["next_run"]) > utcnow()
    assert rows["wecom-sync"]["last_run"] is None
    table = CliRunner().invoke(app, ["jobs", "schedule"])
    assert table.exit_code == 0 and "wecom-tag-push" in table.output
