"""Journeys run by the worker's jobs: entries made once per entry event, each on its version,
steps run once with time moved forward, branches and exits read from the lake."""

from __future__ import annotations

import copy
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from siyu import work
from siyu.core.db import unit_of_work
from siyu.events.models import OutboxEvent
from siyu.journeys import service as journeys
from siyu.journeys.models import JourneyEntry, JourneyStepRun
from siyu.tags import service as tags
from tests.journeys.test_definition import BASE
from tests.segments.brand import Brand

WAIT_BRANCH_TAG = {
    "key": "after-signup",
    "name": "After sign-up",
    "entry": {"event": "Signed Up"},
    "steps": [
        {"id": "wait", "kind": "wait", "duration": "P3D", "next": "ordered"},
        {
            "id": "ordered",
            "kind": "branch",
            "condition": {"since_entry": {"event": "Order Completed"}},
            "then": "bought",
            "else": "not-yet",
        },
        {"id": "bought", "kind": "tag", "tag": "bought"},
        {"id": "not-yet", "kind": "tag", "tag": "not-yet"},
    ],
}


class Clock:
    """utcnow for the jobs table and the journeys, moved by hand."""

    def __init__(self, monkeypatch) -> None:
        self.now = datetime.now(UTC)
        for module in ("siyu.core.jobs", "siyu.journeys.engine", "siyu.journeys.service"):
            monkeypatch.setattr(f"{module}.utcnow", lambda: self.now)

    def forward(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    return Clock(monkeypatch)


def _now_message(user_id: str, event: str, message_id: str, **properties) -> dict:
    return {
        "type": "track",
        "userId": user_id,
        "event": event,
        "properties": properties,
        "timestamp": datetime.now(UTC).isoformat(),
        "messageId": message_id,
    }


def _publish(definition: dict) -> None:
    with unit_of_work() as s:
        journeys.create_journey(s, definition, "test")
        journeys.publish(s, definition["key"], "test")


def _run_due() -> int:
    ran = 0
    while work.run_one():
        ran += 1
    return ran


def _entries() -> list[tuple[int, str, str | None, int]]:
    with unit_of_work() as s:
        rows = s.execute(
            select(
                JourneyEntry.customer_id,
                JourneyEntry.status,
                JourneyEntry.exit_reason,
                JourneyEntry.version,
            ).order_by(JourneyEntry.id)
        )
        return [tuple(r) for r in rows]


def _count(event: str) -> int:
    with unit_of_work() as s:
        return s.scalar(select(func.count()).where(OutboxEvent.event == event)) or 0


def _tagged(name: str) -> set[int]:
    with unit_of_work() as s:
        return tags.holders(s, tags.find_tag(s, name).id)


def test_wait_branch_and_tag_run_end_to_end_with_time_moved_forward(clock):
    brand = Brand()
    _publish(WAIT_BRANCH_TAG)
    brand.send(_now_message("ann", "Signed Up", "s1"), _now_message("bob", "Signed Up", "s2"))
    ann, bob = brand.customer_id("ann"), brand.customer_id("bob")
    assert [(c, s) for c, s, _, _ in _entries()] == [(ann, "active"), (bob, "active")]

    assert _run_due() == 2  # each entry's wait step: the branch is booked three days on
    assert _run_due() == 0
    time.sleep(0.01)
    brand.send(_now_message("ann", "Order Completed", "o1", order_id="o1", revenue=30))
    brand.ship()
    clock.forward(days=3, minutes=1)
    assert _run_due() == 4  # branch, then tag, for each

    assert _tagged("bought") == {ann}
    assert _tagged("not-yet") == {bob}
    assert [(c, s) for c, s, _, _ in _entries()] == [(ann, "completed"), (bob, "completed")]
    with unit_of_work() as s:
        runs = s.execute(select(JourneyStepRun.step_id, JourneyStepRun.outcome)).all()
    assert sorted(runs) == [
        ("bought", "done"),
        ("not-yet", "done"),
        ("ordered", "else"),
        ("ordered", "then"),
        ("wait", "done"),
        ("wait", "done"),
    ]
    assert _count("Journey Step Completed") == 6


def test_the_same_entry_event_replayed_enters_no_one_twice(clock):
    brand = Brand()
    _publish(WAIT_BRANCH_TAG)
    signed_up = _now_message("ann", "Signed Up", "s1")
    brand.send(signed_up)
    brand.send(signed_up)  # ingest drops the replay
    brand.send(_now_message("ann", "Signed Up", "s2"))  # a new event, but ann is inside
    assert len(_entries()) == 1
    with unit_of_work() as s:
        journey = journeys.find_journey(s, "after-signup")
        again = journeys.enter(s, journey, brand.customer_id("ann"), "event:shop:s1")
        assert again is None  # the same entry key, straight to the service
    assert _count("Journey Entered") == 1


def test_an_exit_condition_is_checked_at_every_step(clock):
    brand = Brand()
    definition = copy.deepcopy(WAIT_BRANCH_TAG)
    definition["exit_when"] = [{"since_entry": {"event": "Order Completed"}}]
    _publish(definition)
    brand.send(_now_message("ann", "Signed Up", "s1"))
    _run_due()
    time.sleep(0.01)
    brand.send(_now_message("ann", "Order Completed", "o1", order_id="o1", revenue=30))
    brand.ship()
    clock.forward(days=3, minutes=1)
    _run_due()
    assert [(s, r) for _, s, r, _ in _entries()] == [("exited", "exit_condition")]
    assert _count("Journey Exited") == 1
    assert not _tagged_any()


def test_timers_due_at_once_share_the_lake_reads_of_an_exit_condition(clock, monkeypatch):
    """Twelve entries' waits end together: the exit condition is read from the lake for all of
    them at once, and each still exits only on an order after its own entry."""
    from siyu.journeys import engine

    reads = []
    batch = engine._answer_batch
    monkeypatch.setattr(engine, "_answer_batch", lambda *a: reads.append(a[2].id) or batch(*a))
    brand = Brand()
    definition = copy.deepcopy(WAIT_BRANCH_TAG)
    definition["exit_when"] = [{"since_entry": {"event": "Order Completed"}}]
    people = [f"p{n}" for n in range(12)]
    before = _now_message("p0", "Order Completed", "before", order_id="o-before", revenue=9)
    before["timestamp"] = (clock.now - timedelta(hours=1)).isoformat()
    brand.send(before)
    _publish(definition)
    for person in people:
        brand.send(_now_message(person, "Signed Up", f"s-{person}"))
    _run_due()
    time.sleep(0.01)
    buyers = people[3:6]
    for person in buyers:
        brand.send(
            _now_message(person, "Order Completed", f"o-{person}", order_id=person, revenue=20)
        )
    brand.ship()
    clock.forward(days=3, minutes=1)
    reads.clear()
    _run_due()

    statuses = {c: (status, reason) for c, status, reason, _ in _entries()}
    exited = {p for p in people if statuses[brand.customer_id(p)] == ("exited", "exit_condition")}
    assert exited == set(buyers)  # p0's order came before it entered
    assert _tagged("not-yet") == {brand.customer_id(p) for p in people if p not in buyers}
    # One read for the twelve at the wait's end; the branch's condition and the next step's
    # exit check find the lake unchanged and read it at most once more each.
    assert len(reads) <= 3, reads


def _tagged_any() -> bool:
    with unit_of_work() as s:
        try:
            return bool(tags.holders(s, tags.find_tag(s, "bought").id))
        except Exception:
            return False


def test_an_entry_stays_on_the_version_it_entered_with(clock):
    brand = Brand()
    _publish(WAIT_BRANCH_TAG)
    brand.send(_now_message("ann", "Signed Up", "s1"))
    second = copy.deepcopy(WAIT_BRANCH_TAG)
    second["steps"][0]["duration"] = "PT1H"
    with unit_of_work() as s:
        assert journeys.save_draft(s, "after-signup", second, "test").version == 2
        journeys.publish(s, "after-signup", "test")
    brand.send(_now_message("bob", "Signed Up", "s2"))
    assert [v for _, _, _, v in _entries()] == [1, 2]
    _run_due()
    clock.forward(hours=1, minutes=1)
    brand.ship()
    _run_due()  # bob's one-hour wait is over; ann waits her three days
    assert [s for _, s, _, _ in _entries()] == ["active", "completed"]
    with unit_of_work() as s:
        shown = journeys.show(s, "after-signup")
    assert [v["version"] for v in shown["versions"]] == [1, 2]
    assert shown["entries"] == {"active": 1, "completed": 1, "exited": 0}


def test_reentry_policy_and_pause(clock):
    brand = Brand()
    definition = copy.deepcopy(BASE)
    definition["steps"] = [{"id": "bye", "kind": "exit"}]
    definition["reentry"] = {"policy": "after_days", "days": 7}
    _publish(definition)
    brand.send(_now_message("ann", "Signed Up", "s1"))
    _run_due()
    brand.send(_now_message("ann", "Signed Up", "s2"))  # ended, but within 7 days
    assert len(_entries()) == 1
    with unit_of_work() as s:
        journey = journeys.find_journey(s, definition["key"])
        later = clock.now + timedelta(days=8)
        assert journeys.enter(s, journey, brand.customer_id("ann"), "k3", later) is not None
        journeys.pause(s, definition["key"], "test")
    with unit_of_work() as s:
        journey = journeys.find_journey(s, definition["key"])
        assert journeys.enter(s, journey, brand.customer_id("ann"), "k4", later) is None


def test_a_journey_runs_from_events_sent_to_the_tracking_api(client, write_key, clock):
    """The issue's done-when: a wait, a branch on "ordered since entry" and an exit condition,
    driven by the tracking API; the same entry event replayed enters no one twice."""
    from siyu import snapshots
    from siyu.customers.service import find_customer
    from siyu.events import shipper
    from tests.helpers import post_batch

    definition = copy.deepcopy(WAIT_BRANCH_TAG)
    definition["exit_when"] = [{"event": "Contact Deleted", "within_days": 30}]
    _publish(definition)
    signups = [_now_message(u, "Signed Up", f"api-{u}") for u in ("ann", "bob", "cat")]
    assert post_batch(client, write_key, signups).status_code == 200
    assert post_batch(client, write_key, signups[:1]).status_code == 200  # replayed
    assert len(_entries()) == 3 and _count("Journey Entered") == 3
    _run_due()
    time.sleep(0.01)
    later = [
        _now_message("ann", "Order Completed", "api-o1", order_id="o1", revenue=30),
        _now_message("cat", "Contact Deleted", "api-d1"),
    ]
    assert post_batch(client, write_key, later).status_code == 200
    shipper.ship_all()
    snapshots.refresh()
    clock.forward(days=3, minutes=1)
    _run_due()
    outcome = {status + (f":{reason}" if reason else "") for _, status, reason, _ in _entries()}
    assert sorted(s for _, s, _, _ in _entries()) == ["completed", "completed", "exited"]
    assert "exited:exit_condition" in outcome
    with unit_of_work() as s:
        ann, bob = (find_customer(s, u).id for u in ("ann", "bob"))
    assert _tagged("bought") == {ann} and _tagged("not-yet") == {bob}
