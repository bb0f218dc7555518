"""Guide tasks as events: `Task Assigned` and `Task Completed` written to the outbox with the
assignment they describe, and a `Message Sent` from a guide that completes their message task.

The events name a customer Siyu already holds, by id: they go to the outbox through events'
one writer with their dedup key (`task-assigned-<assignment id>`), in the transaction that
writes the assignment, and the shipper takes them to the lake like any other event. Sending
them through identity resolution would also move the customer's last-seen time for something
the customer did not do. complete_by_messages() subscribes to every event written
(siyu.subscribers).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.db import utcnow
from siyu.core.settings import get_settings
from siyu.events import service as events
from siyu.staff.models import Staff
from siyu.tasks.models import GuideTask, TaskAssignment

SOURCE = "tasks"
ASSIGNED, COMPLETED, MESSAGE_SENT = "Task Assigned", "Task Completed", "Message Sent"
CHUNK = 500
MESSAGE_HOW = "message_sent"


def due_end(task: GuideTask) -> datetime:
    """The first instant after the task's due day, in the brand's zone."""
    zone = get_settings().zone
    return datetime.combine(task.due_date + timedelta(days=1), time(), zone)


def complete(
    session: Session, task: GuideTask, done: Iterable[tuple[TaskAssignment, datetime]], how: str
) -> list[TaskAssignment]:
    """Mark the open assignments done, each at its time; each gets one `Task Completed`. Done
    ones stay as they were, so completing twice changes nothing."""
    fresh = [(a, at) for a, at in done if a.done_at is None]
    for assignment, at in fresh:
        assignment.done_at, assignment.done_how = at, how
    session.flush()
    done_rows = [(a.id, a.guide_id, a.customer_id, at) for a, at in fresh]
    record(session, COMPLETED, task, done_rows, {"how": how})
    return [a for a, _ in fresh]


def record(
    session: Session,
    event: str,
    task: GuideTask,
    rows: list[tuple[int, int, int, datetime]],
    extra: dict | None = None,
) -> None:
    """One event (and dedup key) per (assignment id, guide id, customer id, time); `extra`
    properties go on each."""
    now = utcnow()
    prefix = event.lower().replace(" ", "-")
    properties = {"task_id": task.id, "kind": task.kind, **(extra or {})}
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        events.record(
            session,
            SOURCE,
            [
                events.event_row(
                    message_id=f"{prefix}-{aid}",
                    source=SOURCE,
                    event=event,
                    customer_id=customer,
                    timestamp=at,
                    original_timestamp=at,
                    received_at=now,
                    properties={**properties, "guide_id": guide},
                )
                for aid, guide, customer, at in chunk
            ],
        )


def complete_by_messages(session: Session, outbox_rows: list[dict]) -> int:
    """Complete the open message-task assignments these stored events carry out: a `Message
    Sent` from the assigned guide (`guide`: staff id or WeCom UserID) to the customer, after the
    assignment and before the due day ends. Returns the assignments completed."""
    sent = [r for r in outbox_rows if r["event"] == MESSAGE_SENT and r["customer_id"]]
    if not sent:
        return 0
    customers = sorted({r["customer_id"] for r in sent})
    open_ones = session.execute(
        select(TaskAssignment, GuideTask, Staff.wecom_userid)
        .join(GuideTask, GuideTask.id == TaskAssignment.task_id)
        .join(Staff, Staff.id == TaskAssignment.guide_id)
        .where(
            TaskAssignment.customer_id.in_(customers),
            TaskAssignment.done_at.is_(None),
            GuideTask.kind == "message",
            GuideTask.status == "open",
        )
    ).all()
    done = 0
    for assignment, task, wecom_userid in open_ones:
        names = {str(assignment.guide_id), wecom_userid}
        for row in sent:
            if row["customer_id"] == assignment.customer_id and _carries_out(
                row, names, assignment, task
            ):
                completed = complete(session, task, [(assignment, row["timestamp"])], MESSAGE_HOW)
                done += len(completed)
                break
    return done


def _carries_out(row: dict, guide_names: set, assignment: TaskAssignment, task: GuideTask) -> bool:
    guide = orjson.loads(row["properties"] or "{}").get("guide")
    if guide is None or str(guide) not in guide_names:
        return False
    return assignment.assigned_at <= row["timestamp"] < due_end(task)
