"""Guide tasks: assigned to the guides who own the customers, done once, carried to the lake."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
import pyarrow.dataset as ds
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from siyu.cli import app
from siyu.core.db import unit_of_work
from siyu.core.errors import InvalidInput, NotFound
from siyu.core.settings import get_settings
from siyu.customers.models import Customer
from siyu.customers.service import find_customer
from siyu.events.models import OutboxEvent
from siyu.events.service import SourceRef, ingest
from siyu.events.shipper import ship_all
from siyu.events.sources import internal_source
from siyu.segments.models import SegmentMember
from siyu.segments.service import create_segment
from siyu.staff.service import assign_owner, create_staff
from siyu.tasks import service as tasks
from tests.helpers import identify, track

runner = CliRunner()
DUE = date(2026, 12, 4)
MONDAY = datetime(2026, 11, 30, 2, tzinfo=UTC)


def brand() -> dict:
    """Guides Zhang (two customers), Li (one), Wang who left (one), and one customer nobody owns,
    all in segment `vip`."""
    with unit_of_work() as s:
        zhang = create_staff(s, "导购张", wecom_userid="zhang")
        li = create_staff(s, "导购李", wecom_userid="li")
        wang = create_staff(s, "导购王", wecom_userid="wang")
        wang.status = "left"
        source = internal_source(s, "mall")
        ingest(s, source, [identify(f"c{n}") for n in range(1, 6)], MONDAY)
        ids = [find_customer(s, f"c{n}").id for n in range(1, 6)]
        for customer, guide in zip(ids, (zhang, zhang, li, wang), strict=False):
            assign_owner(s, customer, guide.id)
        segment = create_segment(s, "vip", "VIP", {"tag": "VIP"})
        s.add_all(
            SegmentMember(segment_id=segment.id, customer_id=c, entered_at=MONDAY) for c in ids
        )
        segment.refreshed_at, segment.member_count = MONDAY, len(ids)
        return {"zhang": zhang.id, "li": li.id, "customers": ids, "source": source}


def _create(kind: str = "message", **fields) -> int:
    with unit_of_work() as s:
        return tasks.create_task(
            s, "双十二预热", DUE, "test", kind=kind, segment_key="vip", now=MONDAY, **fields
        ).id


def _events(name: str) -> list[dict]:
    with unit_of_work() as s:
        rows = s.scalars(select(OutboxEvent).where(OutboxEvent.event == name))
        return [{"customer_id": r.customer_id, **orjson.loads(r.properties)} for r in rows]


def test_a_task_is_assigned_to_each_customers_guide_and_the_unowned_are_reported():
    made = brand()
    task_id = _create()
    with unit_of_work() as s:
        task = tasks.find_task(s, task_id)
        assert (task.targeted, task.unowned) == (5, 2)  # nobody's, and the guide who left
        progress = tasks.progress(s, task_id)
    by_guide = {g.guide_id: (g.assigned, g.done) for g in progress.guides}
    assert by_guide == {made["zhang"]: (2, 0), made["li"]: (1, 0)}
    assigned = _events("Task Assigned")
    assert sorted(e["customer_id"] for e in assigned) == made["customers"][:3]
    assert {(e["task_id"], e["kind"]) for e in assigned} == {(task_id, "message")}


def test_marking_done_twice_counts_once_and_records_one_event():
    made = brand()
    task_id = _create(kind="follow_up")
    first = made["customers"][0]
    for _ in range(2):
        with unit_of_work() as s:
            tasks.mark_done(s, task_id, first, "console", guide_id=made["zhang"])
    with unit_of_work() as s:
        progress = tasks.progress(s, task_id)
        mine = tasks.open_tasks_of(s, made["zhang"])
    assert (progress.total.assigned, progress.total.done) == (3, 1)
    assert progress.total.rate == pytest.approx(1 / 3)
    assert [(t.id, c.open) for t, c in mine] == [(task_id, 1)]
    completed = _events("Task Completed")
    assert completed == [
        {
            "customer_id": first,
            "task_id": task_id,
            "guide_id": made["zhang"],
            "kind": "follow_up",
            "how": "console",
        }
    ]


def test_a_guide_cannot_mark_another_guides_customer():
    made = brand()
    task_id = _create()
    with pytest.raises(NotFound), unit_of_work() as s:
        tasks.mark_done(s, task_id, made["customers"][2], guide_id=made["zhang"])


def test_a_segment_never_refreshed_cannot_be_targeted():
    brand()
    with unit_of_work() as s:
        create_segment(s, "fresh", "Fresh", {"tag": "VIP"})
    with pytest.raises(InvalidInput), unit_of_work() as s:
        tasks.create_task(s, "t", DUE, "test", segment_key="fresh")


def test_explicit_customers_merged_ones_followed():
    made = brand()
    with unit_of_work() as s:
        first = made["customers"][0]
        task = tasks.create_task(s, "t", DUE, "test", customer_ids=[first, first], now=MONDAY)
        assert (task.targeted, task.unowned) == (1, 0)


def test_assigned_and_completed_land_in_the_lake():
    made = brand()
    task_id = _create()
    with unit_of_work() as s:
        tasks.mark_done(s, task_id, made["customers"][2], at=MONDAY + timedelta(hours=1))
    ship_all()
    lake = ds.dataset(Path(get_settings().lake) / "events", partitioning="hive").to_table()
    rows = [r for r in lake.to_pylist() if (r["event"] or "").startswith("Task ")]
    counts = {
        name: sum(r["event"] == name for r in rows) for name in ("Task Assigned", "Task Completed")
    }
    assert counts == {"Task Assigned": 3, "Task Completed": 1}
    done = next(r for r in rows if r["event"] == "Task Completed")
    assert json.loads(done["properties"])["guide_id"] == made["li"]


def _message(source: SourceRef, user: str, guide: str, at: datetime) -> None:
    sent = track("Message Sent", user, properties={"channel": "wecom", "guide": guide})
    sent["timestamp"] = at.isoformat()
    with unit_of_work() as s:
        ingest(s, source, [sent], at)


def test_a_message_from_the_guide_before_the_due_day_completes_a_message_task():
    made = brand()
    message_task, follow_up = _create(), _create(kind="follow_up")
    tuesday = MONDAY + timedelta(days=1)
    _message(made["source"], "c1", "zhang", tuesday)  # c1 is Zhang's: done
    _message(made["source"], "c3", "zhang", tuesday)  # c3 is Li's: not by Zhang
    _message(made["source"], "c2", "zhang", datetime(2026, 12, 5, 1, tzinfo=UTC))  # too late
    with unit_of_work() as s:
        done = {
            (a.customer_id, a.done_how)
            for a, _ in tasks.assignments_of(s, message_task)
            if a.done_at is not None
        }
        follow = tasks.progress(s, follow_up).total.done
    assert done == {(made["customers"][0], "message_sent")}
    assert follow == 0  # only message tasks are carried out by a message


def test_the_cli_creates_lists_shows_and_marks_done():
    made = brand()
    created = runner.invoke(
        app,
        [
            "tasks",
            "create",
            "--title",
            "邀请入群",
            "--segment",
            "vip",
            "--due",
            "2026-12-04",
            "--kind",
            "invite",
            "--json",
        ],
    )
    assert created.exit_code == 0, created.output
    task = json.loads(created.output)
    assert (task["assigned"], task["unowned"], task["kind"]) == (3, 2, "invite")
    done = runner.invoke(app, ["tasks", "done", str(task["id"]), "--customer", "c3", "--json"])
    assert done.exit_code == 0, done.output
    shown = json.loads(runner.invoke(app, ["tasks", "show", str(task["id"]), "--json"]).output)
    rates = {g["guide_id"]: g["execution_rate"] for g in shown["guides"]}
    assert rates == {made["zhang"]: 0.0, made["li"]: 1.0}
    listed = runner.invoke(app, ["tasks", "list"])
    assert "邀请入群" in listed.output and "33%" in listed.output
    with unit_of_work() as s:
        assert s.get(Customer, made["customers"][2]).owner_id == made["li"]
