"""Guide tasks (导购任务): headquarters hands a task to the guides who own its customers; each
customer is one assignment, done when the guide did it. Execution rate (执行率) = done / assigned.

A task targets a saved segment (its members as last refreshed) or a list of customers. A
customer without an active guide cannot be assigned: the task counts and reports them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import case, func, insert, select
from sqlalchemy.orm import Session

from siyu.core.db import utcnow
from siyu.core.errors import Conflict, InvalidInput, NotFound
from siyu.core.i18n import N_
from siyu.customers.models import Customer
from siyu.segments import service as segments
from siyu.staff.models import Staff
from siyu.tasks import events as task_events
from siyu.tasks.models import DONE_HOW, TASK_KINDS, GuideTask, TaskAssignment

CHUNK = 500


@dataclass(frozen=True)
class Count:
    """Assignments and how many are done, with the execution rate (None when nothing assigned)."""

    assigned: int = 0
    done: int = 0

    @property
    def rate(self) -> float | None:
        return self.done / self.assigned if self.assigned else None

    @property
    def open(self) -> int:
        return self.assigned - self.done


@dataclass(frozen=True)
class GuideCount(Count):
    guide_id: int = 0
    name: str = ""


@dataclass(frozen=True)
class Progress:
    task: GuideTask
    total: Count
    guides: list[GuideCount] = field(default_factory=list)


def create_task(
    session: Session,
    title: str,
    due_date: date,
    created_by: str,
    *,
    kind: str = "message",
    segment_key: str | None = None,
    customer_ids: Sequence[int] | None = None,
    instructions: str = "",
    message: str | None = None,
    now: datetime | None = None,
) -> GuideTask:
    """A task with one assignment per targeted customer, to the guide who owns them; each
    assignment also goes to the lake as `Task Assigned`."""
    title = title.strip()
    if not title:
        raise InvalidInput(N_("a task needs a title"), field="title")
    if kind not in TASK_KINDS:
        raise InvalidInput(N_("the kind must be message, follow_up or invite"), field="kind")
    if (segment_key is None) == (customer_ids is None):
        raise InvalidInput(N_("target a segment or a list of customers"), field="segment")
    now = now or utcnow()
    if segment_key is not None:
        targets = _segment_members(session, segment_key)
    else:
        targets = _survivors(session, customer_ids or [])
    task = GuideTask(
        title=title,
        kind=kind,
        instructions=instructions.strip(),
        message=(message or "").strip() or None,
        segment_key=segment_key,
        due_date=due_date,
        status="open",
        created_by=created_by,
        created_at=now,
    )
    session.add(task)
    session.flush()
    owners = _active_owners(session, targets)
    task.targeted, task.unowned = len(targets), len(targets) - len(owners)
    _assign(session, task, owners, now)
    return task


def _segment_members(session: Session, key: str) -> list[int]:
    segment = segments.find_segment(session, key)
    if segment.refreshed_at is None:
        raise InvalidInput(N_("refresh the segment first: it has no members yet"), field="segment")
    return segments.member_ids(session, segment)


def _survivors(session: Session, customer_ids: Sequence[int]) -> list[int]:
    """The customers named, merged ones followed to the customer they became, each once."""
    found: dict[int, int | None] = {}
    wanted = list(dict.fromkeys(customer_ids))
    for start in range(0, len(wanted), CHUNK):
        rows = session.execute(
            select(Customer.id, Customer.merged_into_id).where(
                Customer.id.in_(wanted[start : start + CHUNK])
            )
        )
        found.update(rows.all())
    missing = [c for c in wanted if c not in found]
    if missing:
        raise NotFound(N_("no such customer: ") + str(missing[0]), field="customers")
    survivors = []
    for customer_id in wanted:
        while (merged := found.get(customer_id)) is not None:
            if merged not in found:
                found[merged] = session.scalar(
                    select(Customer.merged_into_id).where(Customer.id == merged)
                )
            customer_id = merged
        survivors.append(customer_id)
    return list(dict.fromkeys(survivors))


def _active_owners(session: Session, customer_ids: list[int]) -> dict[int, int]:
    """Customer id → the active guide who owns them; the others are left out."""
    owners: dict[int, int] = {}
    for start in range(0, len(customer_ids), CHUNK):
        rows = session.execute(
            select(Customer.id, Customer.owner_id)
            .join(Staff, Staff.id == Customer.owner_id)
            .where(Customer.id.in_(customer_ids[start : start + CHUNK]), Staff.status == "active")
        )
        owners.update((c, owner) for c, owner in rows if owner is not None)
    return owners


def _assign(session: Session, task: GuideTask, owners: dict[int, int], now: datetime) -> None:
    rows = [
        {"task_id": task.id, "guide_id": guide, "customer_id": customer, "assigned_at": now}
        for customer, guide in sorted(owners.items())
    ]
    for start in range(0, len(rows), CHUNK * 10):
        session.execute(insert(TaskAssignment), rows[start : start + CHUNK * 10])
    made = session.execute(
        select(TaskAssignment.id, TaskAssignment.guide_id, TaskAssignment.customer_id).where(
            TaskAssignment.task_id == task.id
        )
    )
    task_events.record(session, task_events.ASSIGNED, task, [(a, g, c, now) for a, g, c in made])


def task_summary(task: GuideTask, count: Count) -> dict:
    """A task and its execution, as the CLI's --json and the API give them."""
    return {
        "id": task.id,
        "title": task.title,
        "kind": task.kind,
        "status": task.status,
        "due_date": task.due_date,
        "segment": task.segment_key,
        "instructions": task.instructions,
        "message": task.message,
        "targeted": task.targeted,
        "unowned": task.unowned,
        "assigned": count.assigned,
        "done": count.done,
        "execution_rate": count.rate,
        "created_by": task.created_by,
        "created_at": task.created_at,
    }


def guide_summary(guide: GuideCount) -> dict:
    return {
        "guide_id": guide.guide_id,
        "name": guide.name,
        "assigned": guide.assigned,
        "done": guide.done,
        "execution_rate": guide.rate,
    }


def find_task(session: Session, task_id: int) -> GuideTask:
    task = session.get(GuideTask, task_id)
    if task is None:
        raise NotFound(N_("no such task"), field="task_id")
    return task


def mark_done(
    session: Session,
    task_id: int,
    customer_id: int,
    how: str = "console",
    *,
    guide_id: int | None = None,
    at: datetime | None = None,
) -> TaskAssignment:
    """The guide did the task for this customer. Done twice, it stays done once (one `Task
    Completed`). `guide_id` limits it to that guide's own assignment. A closed task is over:
    nothing in it is marked done any more (its rate stays what it was when it closed)."""
    if how not in DONE_HOW:
        raise InvalidInput(N_("unknown way of completing a task"), field="how")
    task = find_task(session, task_id)
    if task.status == "closed":
        raise Conflict(N_("the task is closed: nothing in it can be marked done"), field="task_id")
    query = select(TaskAssignment).where(
        TaskAssignment.task_id == task.id, TaskAssignment.customer_id == customer_id
    )
    if guide_id is not None:
        query = query.where(TaskAssignment.guide_id == guide_id)
    assignment = session.scalar(query)
    if assignment is None:
        raise NotFound(N_("this customer is not assigned in this task"), field="customer")
    task_events.complete(session, task, [(assignment, at or utcnow())], how)
    return assignment


def close_task(session: Session, task_id: int) -> GuideTask:
    """Stop the task: its open assignments stay open and count against the execution rate."""
    task = find_task(session, task_id)
    task.status = "closed"
    session.flush()
    return task


def list_tasks(session: Session, limit: int = 200) -> list[tuple[GuideTask, Count]]:
    """The newest tasks with their assignments and how many are done."""
    tasks = list(session.scalars(select(GuideTask).order_by(GuideTask.id.desc()).limit(limit)))
    counts = _counts(session, [t.id for t in tasks], TaskAssignment.task_id)
    return [(t, counts.get(t.id, Count())) for t in tasks]


def progress(session: Session, task_id: int) -> Progress:
    """A task's execution: overall and per guide (lowest rate first, to follow up)."""
    task = find_task(session, task_id)
    per_guide = _counts(session, [task.id], TaskAssignment.guide_id)
    names = dict(session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(per_guide))).all())
    guides = [
        GuideCount(assigned=c.assigned, done=c.done, guide_id=g, name=names.get(g, str(g)))
        for g, c in per_guide.items()
    ]
    guides.sort(key=lambda g: (g.rate or 0, g.name, g.guide_id))
    total = Count(sum(g.assigned for g in guides), sum(g.done for g in guides))
    return Progress(task, total, guides)


def _counts(session: Session, task_ids: list[int], by) -> dict[int, Count]:
    if not task_ids:
        return {}
    done = func.sum(case((TaskAssignment.done_at.is_not(None), 1), else_=0))
    rows = session.execute(
        select(by, func.count(TaskAssignment.id), done)
        .where(TaskAssignment.task_id.in_(task_ids))
        .group_by(by)
    )
    return {key: Count(int(assigned), int(finished or 0)) for key, assigned, finished in rows}


def open_tasks_of(session: Session, guide_id: int) -> list[tuple[GuideTask, Count]]:
    """A guide's open tasks that still have customers to do, soonest due first."""
    done = func.sum(case((TaskAssignment.done_at.is_not(None), 1), else_=0))
    rows = session.execute(
        select(GuideTask, func.count(TaskAssignment.id), done)
        .join(TaskAssignment, TaskAssignment.task_id == GuideTask.id)
        .where(TaskAssignment.guide_id == guide_id, GuideTask.status == "open")
        .group_by(GuideTask.id)
        .order_by(GuideTask.due_date, GuideTask.id)
    )
    counts = [(task, Count(int(n), int(d or 0))) for task, n, d in rows]
    return [(task, count) for task, count in counts if count.open]


def assignments_of(
    session: Session, task_id: int, guide_id: int | None = None, limit: int = 500
) -> list[tuple[TaskAssignment, Customer]]:
    """A task's assignments (one guide's, when given) with their customers; open ones first."""
    query = (
        select(TaskAssignment, Customer)
        .join(Customer, Customer.id == TaskAssignment.customer_id)
        .where(TaskAssignment.task_id == task_id)
        .order_by(TaskAssignment.done_at.is_not(None), TaskAssignment.id)
        .limit(limit)
    )
    if guide_id is not None:
        query = query.where(TaskAssignment.guide_id == guide_id)
    return [(a, c) for a, c in session.execute(query).all()]


def assignment_of(
    session: Session, task_id: int, customer_id: int, guide_id: int | None = None
) -> tuple[TaskAssignment, Customer]:
    """One customer's assignment in a task (only a guide's own, when `guide_id` is given)."""
    query = (
        select(TaskAssignment, Customer)
        .join(Customer, Customer.id == TaskAssignment.customer_id)
        .where(TaskAssignment.task_id == task_id, TaskAssignment.customer_id == customer_id)
    )
    if guide_id is not None:
        query = query.where(TaskAssignment.guide_id == guide_id)
    found = session.execute(query).first()
    if found is None:
        raise NotFound(N_("this customer is not assigned in this task"), field="customer")
    return found[0], found[1]
