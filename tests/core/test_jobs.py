"""Durable jobs: enqueued with the caller's transaction, run once, retried with backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import event, select

from siyu.core import db, jobs
from siyu.core.db import unit_of_work
from siyu.core.jobs import Job

calls: list[dict] = []


def _record(session, payload: dict) -> None:
    if payload.get("fail_times", 0) > len([c for c in calls if c == payload]):
        calls.append(payload)
        raise RuntimeError("flaky")
    calls.append(payload)


HANDLERS = {"test.record": _record}


def test_job_enqueued_twice_with_one_key_runs_once(session):
    calls.clear()
    with unit_of_work() as s:
        jobs.enqueue(s, "test.record", "welcome:42", {"n": 1})
        jobs.enqueue(s, "test.record", "welcome:42", {"n": 1})
    assert jobs.run_one(HANDLERS) is True
    assert jobs.run_one(HANDLERS) is False
    assert calls == [{"n": 1}]
    assert session.scalar(select(Job.status)) == "done"


def test_job_rolled_back_with_its_transaction_never_runs(session):
    calls.clear()
    try:
        with unit_of_work() as s:
            jobs.enqueue(s, "test.record", "k1", {"n": 2})
            raise ValueError("the request failed")
    except ValueError:
        pass
    assert jobs.run_one(HANDLERS) is False
    assert calls == []


def test_failed_job_is_retried_later_with_its_error_kept(session):
    calls.clear()
    with unit_of_work() as s:
        jobs.enqueue(s, "test.record", "k2", {"n": 3, "fail_times": 1})
    assert jobs.run_one(HANDLERS) is True
    job = session.scalar(select(Job))
    assert job.status == "queued" and "flaky" in job.last_error and job.attempts == 1
    with unit_of_work() as s:
        s.get(Job, job.id).run_at = job.created_at  # due again now
    assert jobs.run_one(HANDLERS) is True
    session.expire_all()
    assert session.scalar(select(Job.status)) == "done"


def _tick(session, payload: dict) -> None:
    calls.append(payload)


def test_finished_clock_jobs_are_pruned_after_a_week_and_nothing_else(session):
    """A job booked every minute must not grow the table for ever; other jobs stay, and so do
    clock jobs that are recent, waiting or failed."""
    from datetime import timedelta

    from sqlalchemy import update

    now = jobs.utcnow()
    with unit_of_work() as s:
        for key in ("old", "recent", "waiting", "failed"):
            jobs.enqueue(s, "test.tick", f"test.tick:{key}")
        jobs.enqueue(s, "test.record", "test.record:old")
    with unit_of_work() as s:
        finished = {"old": now - timedelta(days=8), "recent": now - timedelta(days=6)}
        for key, at in finished.items():
            s.execute(
                update(Job)
                .where(Job.key == f"test.tick:{key}")
                .values(status="done", finished_at=at)
            )
        s.execute(update(Job).where(Job.key == "test.tick:failed").values(status="failed"))
        s.execute(
            update(Job)
            .where(Job.key == "test.record:old")
            .values(status="done", finished_at=now - timedelta(days=30))
        )
    with unit_of_work() as s:
        assert jobs.prune_done(s, {"test.tick"}, now) == 1
    assert set(session.scalars(select(Job.key))) == {
        "test.tick:recent",
        "test.tick:waiting",
        "test.tick:failed",
        "test.record:old",
    }


def test_a_job_of_a_kind_with_no_handler_fails_and_says_so(session):
    with unit_of_work() as s:
        jobs.enqueue(s, "test.nobody", "nobody:1")
    assert jobs.run_one(HANDLERS) is True
    job = session.scalar(select(Job))
    assert job.status == "queued" and "no handler for job kind 'test.nobody'" in job.last_error


def test_a_row_key_names_the_row_not_only_its_id():
    made = datetime(2026, 12, 6, 9, 30, 0, 123456, tzinfo=UTC)
    key = jobs.row_key("segments.refresh", 7, made)
    assert key == jobs.row_key("segments.refresh", 7, made)  # the same row: one job
    # SQLite gives a deleted row's id to the next row made: that row's job is another job.
    assert key != jobs.row_key("segments.refresh", 7, made + timedelta(microseconds=1))


def _job(session, key: str, status: str, run_at: datetime, lease_until=None) -> None:
    session.add(
        Job(kind="test.record", key=key, status=status, run_at=run_at, lease_until=lease_until)
    )


def _claimed_keys() -> list[str]:
    keys = []
    while True:
        with db.session_factory()() as s:
            job = jobs.claim(s)
            if job is None:
                return keys
            keys.append(job.key)


def test_due_jobs_are_claimed_oldest_first_whether_queued_or_left_by_a_crashed_worker(session):
    """A job whose worker died (its lease lapsed) is taken again in its place in the queue, not
    after every queued job; a job not yet due, or still under a live lease, is not taken."""
    now = jobs.utcnow()
    with unit_of_work() as s:
        _job(s, "queued-new", "queued", now - timedelta(minutes=1))
        _job(s, "lapsed-old", "running", now - timedelta(hours=2), now - timedelta(seconds=1))
        _job(s, "queued-old", "queued", now - timedelta(hours=1))
        _job(s, "lapsed-new", "running", now - timedelta(seconds=30), now - timedelta(minutes=1))
        _job(s, "leased", "running", now - timedelta(hours=3), now + timedelta(minutes=4))
        _job(s, "later", "queued", now + timedelta(minutes=1))
        _job(s, "done", "done", now - timedelta(hours=4))
        _job(s, "failed", "failed", now - timedelta(hours=4))
    assert _claimed_keys() == ["lapsed-old", "queued-old", "queued-new", "lapsed-new"]
    taken = {j.key: j for j in session.scalars(select(Job))}
    for key in ("lapsed-old", "queued-old", "queued-new", "lapsed-new"):
        assert taken[key].status == "running" and taken[key].attempts == 1
        assert taken[key].lease_until > now + timedelta(minutes=4)
    assert taken["later"].status == "queued" and taken["later"].attempts == 0
    assert taken["leased"].attempts == 0


def test_a_claim_reads_the_queue_in_index_order_instead_of_sorting_it(session):
    """With 100,000 jobs due at once a claim that sorts the queue makes the worker's time grow
    with the square of the queue: each of the claim's reads must walk the jobs index."""
    statements: list[tuple[str, object]] = []
    engine = db.get_engine()

    def keep(conn, cursor, statement, parameters, context, executemany) -> None:
        if "FROM jobs" in statement and "ORDER BY" in statement:
            statements.append((statement, parameters))

    now = jobs.utcnow()
    with unit_of_work() as s:
        _job(s, "queued", "queued", now - timedelta(minutes=1))
    event.listen(engine, "before_cursor_execute", keep)
    try:
        with db.session_factory()() as s:
            assert jobs.claim(s) is not None
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert statements
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        if postgres:  # a near-empty table is read whole; ask what the plan is once it is not
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        for statement, parameters in statements:
            explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
            rows = conn.exec_driver_sql(explain + statement, parameters).fetchall()
            plan = " ".join(str(row[-1] if not postgres else row[0]) for row in rows)
            assert "ix_jobs_status_run_at_id" in plan, plan
            assert "TEMP B-TREE" not in plan, plan  # SQLite's sort of every row read
