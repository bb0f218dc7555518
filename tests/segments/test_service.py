"""Stored segments: members materialised with entry and exit times, refreshed by a job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from typer.testing import CliRunner

from siyu import work
from siyu.cli import app as cli
from siyu.core.db import unit_of_work
from siyu.segments import jobs as segment_jobs
from siyu.segments import service as segments
from siyu.segments.models import SegmentMember, SegmentRefresh
from tests.segments.brand import Brand, identify, order

BUYERS = {"event": "Order Completed", "count": {"gte": 2}}
NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


def _stays(key: str) -> list[tuple[int, bool]]:
    with unit_of_work() as s:
        segment = segments.find_segment(s, key)
        rows = s.scalars(
            select(SegmentMember)
            .where(SegmentMember.segment_id == segment.id)
            .order_by(SegmentMember.id)
        )
        return [(m.customer_id, m.exited_at is None) for m in rows]


def _refresh(key: str, as_of=NOW) -> tuple[int, int, int]:
    with unit_of_work() as s:
        return segments.refresh(s, segments.find_segment(s, key), as_of=as_of)


def test_refresh_records_entries_exits_and_a_return_as_a_new_stay():
    brand = Brand()
    brand.send(identify("ann", "2026-10-01"), order("ann", "2026-10-02", 30))
    brand.send(order("ann", "2026-10-03", 30), identify("bob", "2026-10-01"))
    brand.ship()
    rule = {"event": "Order Completed", "within_days": 30, "count": {"gte": 2}}
    with unit_of_work() as s:
        segments.create_segment(s, "regulars", "Regulars", rule, "daily")
    ann, bob = brand.customer_id("ann"), brand.customer_id("bob")

    assert _refresh("regulars", datetime(2026, 10, 10, tzinfo=UTC)) == (1, 1, 0)
    assert _refresh("regulars", datetime(2026, 10, 10, tzinfo=UTC)) == (1, 0, 0)  # idempotent
    assert _refresh("regulars", datetime(2026, 11, 20, tzinfo=UTC)) == (0, 0, 1)  # window passed
    brand.send(order("ann", "2026-11-25", 30), order("ann", "2026-11-26", 30))
    brand.ship()
    assert _refresh("regulars", datetime(2026, 11, 27, tzinfo=UTC)) == (1, 1, 0)

    assert _stays("regulars") == [(ann, False), (ann, True)]
    assert bob not in {c for c, _ in _stays("regulars")}


def test_refresh_job_reports_progress_and_counts():
    brand = Brand()
    brand.send(identify("ann", "2026-10-01"), order("ann", "2026-10-02", 30))
    brand.send(order("ann", "2026-10-03", 30))
    brand.ship()
    with unit_of_work() as s:
        segment = segments.create_segment(s, "buyers", "Buyers", BUYERS, "manual")
        run_id = segments.request_refresh(s, segment, requested_by="test").id
        again = segments.request_refresh(s, segment, requested_by="test").id
    assert again == run_id  # one waiting refresh at a time
    while work.run_one():
        pass
    with unit_of_work() as s:
        run = s.get(SegmentRefresh, run_id)
        assert (run.status, run.progress, run.member_count, run.entered) == ("done", 100, 1, 1)
        assert segments.find_segment(s, "buyers").member_count == 1


def test_a_due_scheduled_segment_is_refreshed_and_rescheduled():
    with unit_of_work() as s:
        segment = segments.create_segment(s, "daily", "Daily", BUYERS, "daily")
        manual = segments.create_segment(s, "by-hand", "By hand", BUYERS, "manual")
        assert manual.next_refresh_at is None
        later = segment.next_refresh_at + timedelta(minutes=1)
        assert segment_jobs.enqueue_due(s, later) == 1
        assert segment_jobs.enqueue_due(s, later) == 0  # pushed a day on
    while work.run_one():
        pass
    with unit_of_work() as s:
        assert segments.find_segment(s, "daily").refreshed_at is not None
        assert segments.find_segment(s, "by-hand").refreshed_at is None


def test_a_segment_that_another_uses_cannot_be_deleted():
    with unit_of_work() as s:
        segments.create_segment(s, "buyers", "Buyers", BUYERS)
        segments.create_segment(s, "vip", "VIP", {"and": [{"segment": "buyers"}, {"tag": "VIP"}]})
    with unit_of_work() as s:
        try:
            segments.delete_segment(s, "buyers")
        except Exception as error:
            assert "vip" in str(error)
        else:
            raise AssertionError("deleted a segment in use")
        segments.delete_segment(s, "vip")
        segments.delete_segment(s, "buyers")


def test_cli_create_list_refresh_export(tmp_path):
    brand = Brand()
    brand.send(identify("ann", "2026-10-01", phone="13800138000"), order("ann", "2026-10-02", 3))
    brand.send(order("ann", "2026-10-03", 30))
    brand.ship()
    rules = tmp_path / "buyers.json"
    rules.write_text('{"event": "Order Completed", "count": {"gte": 2}}')
    runner = CliRunner()
    made = runner.invoke(cli, ["segment", "create", "buyers", "--rules", str(rules), "--name", "B"])
    assert made.exit_code == 0, made.output
    listed = runner.invoke(cli, ["segment", "list", "--json"])
    assert '"member_count": 1' in listed.output
    again = runner.invoke(cli, ["segment", "refresh", "buyers", "--json"])
    assert '"entered": 0' in again.output
    out = runner.invoke(cli, ["segment", "export", "buyers"])
    lines = out.output.strip().splitlines()
    assert lines[0] == "customer_id,user_id,phone,entered_at"
    assert lines[1].split(",")[1:3] == ["ann", "13800138000"]


def test_a_refresh_runs_when_an_old_refresh_had_the_same_id():
    # SQLite gives the id of a deleted refresh to the next one: its job must still run.
    with unit_of_work() as s:
        first = segments.request_refresh(s, segments.create_segment(s, "lapsed", "L", BUYERS)).id
    while work.run_one():
        pass
    with unit_of_work() as s:
        segments.delete_segment(s, "lapsed")
    with unit_of_work() as s:
        second = segments.request_refresh(s, segments.create_segment(s, "regulars", "R", BUYERS)).id
    if s.get_bind().dialect.name == "sqlite":
        assert second == first  # the reuse this test is about
    while work.run_one():
        pass
    with unit_of_work() as s:
        assert s.get(SegmentRefresh, second).status == "done"
        assert segments.find_segment(s, "regulars").refreshed_at is not None
