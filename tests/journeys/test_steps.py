"""The other kinds of step, run by the jobs: a wait for an event (or its timeout), a split and a
holdout, a guide task, a webhook, pause and resume; and who enters by tag, segment or schedule."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import orjson
import pytest
from sqlalchemy import select

from siyu.core.db import unit_of_work
from siyu.journeys import admission
from siyu.journeys import service as journeys
from siyu.journeys.engine import bucket, next_time_of_day
from siyu.journeys.models import JourneyEntry, JourneyStepRun
from siyu.segments.models import Segment, SegmentMember
from siyu.segments.service import create_segment
from siyu.staff.service import assign_owner, create_staff
from siyu.tags import service as tags
from siyu.tasks.models import GuideTask, TaskAssignment
from tests.journeys.test_flow import (
    Clock,
    _entries,
    _now_message,
    _publish,
    _run_due,
)
from tests.segments.brand import Brand


@pytest.fixture
def clock(monkeypatch) -> Clock:
    found = Clock(monkeypatch)
    monkeypatch.setattr("siyu.journeys.admission.utcnow", lambda: found.now)
    return found


def _journey(key: str, entry: dict, steps: list[dict], **more) -> dict:
    return {"key": key, "name": key, "entry": entry, "steps": steps, **more}


def _runs() -> list[tuple[str, str, str | None]]:
    with unit_of_work() as s:
        rows = s.execute(
            select(JourneyStepRun.step_id, JourneyStepRun.status, JourneyStepRun.outcome).order_by(
                JourneyStepRun.id
            )
        )
        return [tuple(r) for r in rows]


def test_a_wait_for_an_event_goes_on_when_it_comes_or_at_its_timeout(clock):
    brand = Brand()
    wait = {
        "id": "wait",
        "kind": "wait",
        "until_event": {
            "event": "Coupon Redeemed",
            "where": {"coupon": ["WELCOME"]},
            "timeout": "P2D",
            "timeout_next": "late",
        },
        "next": "redeemed",
    }
    steps = [
        wait,
        {"id": "redeemed", "kind": "tag", "tag": "redeemed"},
        {"id": "late", "kind": "exit"},
    ]
    _publish(_journey("coupon-wait", {"event": "Signed Up"}, steps))
    brand.send(_now_message("ann", "Signed Up", "s1"), _now_message("bob", "Signed Up", "s2"))
    _run_due()
    brand.send(_now_message("ann", "Coupon Redeemed", "c0", coupon="OTHER"))
    brand.send(_now_message("ann", "Coupon Redeemed", "c1", coupon="WELCOME"))
    _run_due()  # ann's event woke her: the tag step ran
    ann = brand.customer_id("ann")
    with unit_of_work() as s:
        assert tags.holders(s, tags.find_tag(s, "redeemed").id) == {ann}
    clock.forward(days=2, minutes=1)
    _run_due()  # bob's timeout
    assert [(s, r) for _, s, r, _ in _entries()] == [("completed", None), ("exited", "exit_step")]
    assert ("wait", "done", "event") in _runs() and ("wait", "done", "timeout") in _runs()


def test_split_and_holdout_draw_each_customer_the_same_way_every_time(clock):
    brand = Brand()
    steps = [
        {"id": "hold", "kind": "holdout", "percent": 50, "next": "ab"},
        {
            "id": "ab",
            "kind": "split",
            "variants": [
                {"key": "A", "weight": 1, "next": "a"},
                {"key": "B", "weight": 1, "next": "b"},
            ],
        },
        {"id": "a", "kind": "tag", "tag": "variant-a"},
        {"id": "b", "kind": "tag", "tag": "variant-b"},
    ]
    _publish(_journey("ab", {"event": "Signed Up"}, steps))
    users = [f"u{i}" for i in range(12)]
    brand.send(*[_now_message(u, "Signed Up", f"s-{u}") for u in users])
    _run_due()
    with unit_of_work() as s:
        arms = dict(s.execute(select(JourneyEntry.customer_id, JourneyEntry.arm)).all())
    for user in users:
        customer = brand.customer_id(user)
        held = bucket("ab", "hold", customer) < 50
        assert (arms[customer] == "holdout") == held
    assert {a for a in arms.values()} <= {"holdout", "A", "B"}
    assert sum(a == "holdout" for a in arms.values()) not in (0, 12)


def test_a_task_step_hands_the_customers_guide_a_task(clock):
    brand = Brand()
    steps = [{"id": "call", "kind": "task", "title": "回访", "message": "问问感受", "due_days": 2}]
    _publish(_journey("call", {"event": "Signed Up"}, steps))
    brand.send(_now_message("ann", "Signed Up", "s1"))
    with unit_of_work() as s:
        guide = create_staff(s, "导购张", wecom_userid="zhang")
        assign_owner(s, brand.customer_id("ann"), guide.id)
        guide_id = guide.id
    _run_due()
    with unit_of_work() as s:
        task = s.scalars(select(GuideTask)).one()
        assignment = s.scalars(select(TaskAssignment)).one()
        assert (task.title, task.kind, task.created_by) == ("回访", "follow_up", "journey:call")
        assert assignment.guide_id == guide_id
    assert _runs() == [("call", "done", "assigned")]


class _Hook(BaseHTTPRequestHandler):
    received: list[tuple[str, dict]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Hook.received.append((self.headers["Idempotency-Key"], body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_a_webhook_step_posts_its_body_with_an_idempotency_key(clock):
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hook"
        body = {"who": "{{ customer_id }}", "journey": "{{ journey }}", "fixed": 3}
        steps = [{"id": "hook", "kind": "webhook", "url": url, "body": body}]
        brand = Brand()
        _publish(_journey("hooked", {"event": "Signed Up"}, steps))
        brand.send(_now_message("ann", "Signed Up", "s1"))
        _run_due()
    finally:
        server.shutdown()
    entry_id = _entry_ids()[0]
    ann = brand.customer_id("ann")
    assert _Hook.received == [
        (f"journey:{entry_id}:hook", {"who": str(ann), "journey": "hooked", "fixed": 3})
    ]
    assert _runs() == [("hook", "done", "204")]


def _entry_ids() -> list[int]:
    with unit_of_work() as s:
        return list(s.scalars(select(JourneyEntry.id).order_by(JourneyEntry.id)))


def test_a_paused_journey_runs_its_due_steps_at_the_resume(clock):
    brand = Brand()
    steps = [
        {"id": "wait", "kind": "wait", "duration": "PT1H", "next": "tag"},
        {"id": "tag", "kind": "tag", "tag": "after-pause"},
    ]
    _publish(_journey("pausable", {"event": "Signed Up"}, steps))
    brand.send(_now_message("ann", "Signed Up", "s1"))
    _run_due()
    with unit_of_work() as s:
        journeys.pause(s, "pausable", "test")
    clock.forward(hours=2)
    _run_due()
    assert [s for _, s, _, _ in _entries()] == ["active"]
    with unit_of_work() as s:
        journeys.resume(s, "pausable", "test")
    _run_due()
    assert [s for _, s, _, _ in _entries()] == ["completed"]
    assert [r[0] for r in _runs()] == ["wait", "tag"]


def test_a_tag_put_on_lets_the_customer_in_once(clock):
    brand = Brand()
    brand.send(_now_message("ann", "Signed Up", "s1"))
    _publish(_journey("vips", {"tag": "VIP"}, [{"id": "bye", "kind": "exit"}]))
    ann = brand.customer_id("ann")
    with unit_of_work() as s:
        tags.tag_customer(s, ann, tags.ensure_tag(s, "VIP").id)
    clock.forward(minutes=1)
    for _ in range(2):  # the job run twice lets no one in twice
        with unit_of_work() as s:
            admission.admit(s, {})
    assert [(c, s) for c, s, _, _ in _entries()] == [(ann, "active")]


def test_joining_a_segment_and_a_schedule_tick_let_customers_in(clock):
    brand = Brand()
    brand.send(_now_message("ann", "Signed Up", "s1"), _now_message("bob", "Signed Up", "s2"))
    ann, bob = brand.customer_id("ann"), brand.customer_id("bob")
    with unit_of_work() as s:
        create_segment(s, "fans", "Fans", {"event": "Signed Up"}, "daily")
    _publish(_journey("joined", {"segment": "fans"}, [{"id": "bye", "kind": "exit"}]))
    cron = {"schedule": {"cron": "* * * * *", "segment": "fans"}}
    _publish(_journey("ticked", cron, [{"id": "bye", "kind": "exit"}]))
    clock.forward(minutes=1)
    with unit_of_work() as s:
        fans = s.scalar(select(Segment).where(Segment.key == "fans"))
        for customer in (ann, bob):
            s.add(SegmentMember(segment_id=fans.id, customer_id=customer, entered_at=clock.now))
        s.flush()
        fans.refreshed_at = clock.now
    clock.forward(seconds=30)
    with unit_of_work() as s:
        admission.admit(s, {})
    with unit_of_work() as s:
        rows = s.execute(select(JourneyEntry.journey_id, JourneyEntry.entry_key)).all()
    keys = sorted(key.split(":")[0] for _, key in rows)
    assert keys == ["schedule", "schedule", "segment", "segment"]


def test_until_time_is_the_next_such_time_on_the_customers_clock():
    from zoneinfo import ZoneInfo

    now = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # 01:30 in London, before the clocks change
    london = ZoneInfo("Europe/London")
    assert next_time_of_day(now, "09:00", london) == datetime(2026, 3, 29, 8, tzinfo=UTC)
    shanghai = ZoneInfo("Asia/Shanghai")
    assert next_time_of_day(now, "08:00", shanghai) == datetime(2026, 3, 30, 0, tzinfo=UTC)
    assert next_time_of_day(now, "08:30", shanghai) == now
    assert next_time_of_day(now + timedelta(seconds=1), "08:30", shanghai) > now + timedelta(
        hours=23
    )
