"""Management API for guide tasks (导购任务): hand one out, follow its execution, mark done.

A guide's token sees and marks only the guide's own assignments, as the console's tasks page
does; headquarters' tokens see every guide's.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from siyu.core.auth import ApiToken
from siyu.core.deps import SessionDep, token_allowed
from siyu.core.errors import NotFound
from siyu.core.i18n import N_
from siyu.core.limits import Day, RowId, Text, Text40, Text64, Text200
from siyu.customers.models import Customer
from siyu.tasks import service as tasks
from siyu.tasks.models import TaskAssignment

router = APIRouter(prefix="/api/tasks", tags=["tasks"])
Reader = Annotated[ApiToken, token_allowed("tasks.view")]
Manager = Annotated[ApiToken, token_allowed("tasks.manage")]
Doer = Annotated[ApiToken, token_allowed("tasks.do")]


class TaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Text200
    due_date: Day = Field(description="The brand's day the task is due by (done by its end).")
    kind: Text40 = Field("message", description="message, follow_up or invite")
    segment: Text64 | None = Field(
        None, description="A saved segment's key: its members as last refreshed."
    )
    customer_ids: list[RowId] | None = Field(
        None, max_length=100_000, description="Or the customers, by id (merged ones followed)."
    )
    instructions: Text = ""
    message: Text | None = Field(None, description="What to send, for a message task.")


class DoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: RowId


class TaskOut(BaseModel):
    id: int
    title: str
    kind: str
    status: str
    due_date: date
    segment: str | None
    instructions: str
    message: str | None
    targeted: int = Field(description="Customers the target named.")
    unowned: int = Field(description="Of them, without an active guide: not assigned.")
    assigned: int
    done: int
    execution_rate: float | None = Field(description="执行率: done / assigned.")
    created_by: str
    created_at: datetime


class GuideOut(BaseModel):
    guide_id: int
    name: str
    assigned: int
    done: int
    execution_rate: float | None


class ProgressOut(TaskOut):
    guides: list[GuideOut] = Field(description="Per guide, the lowest execution rate first.")


class AssignmentOut(BaseModel):
    customer_id: int
    name: str | None
    guide_id: int
    assigned_at: datetime
    done_at: datetime | None
    done_how: str | None


def _assignment_out(assignment: TaskAssignment, customer: Customer) -> AssignmentOut:
    return AssignmentOut(
        customer_id=customer.id,
        name=customer.traits.get("name"),
        guide_id=assignment.guide_id,
        assigned_at=assignment.assigned_at,
        done_at=assignment.done_at,
        done_how=assignment.done_how,
    )


def _own_guide(token: ApiToken) -> int | None:
    """The guide a guide's token speaks for (None for headquarters' tokens)."""
    if token.role != "guide":
        return None
    if token.staff_id is None:
        raise NotFound(N_("no such task among yours"), field="task_id")
    return token.staff_id


@router.get("", summary="The newest tasks with their execution (a guide's token: their open ones)")
def list_all(session: SessionDep, token: Reader) -> list[TaskOut]:
    guide = _own_guide(token)
    found = tasks.open_tasks_of(session, guide) if guide else tasks.list_tasks(session)
    return [TaskOut(**tasks.task_summary(task, count)) for task, count in found]


@router.post("", summary="Hand a task to the guides who own its customers", status_code=201)
def create(body: TaskIn, session: SessionDep, token: Manager) -> ProgressOut:
    task = tasks.create_task(
        session,
        body.title,
        body.due_date,
        f"token:{token.name}",
        kind=body.kind,
        segment_key=body.segment,
        customer_ids=body.customer_ids,
        instructions=body.instructions,
        message=body.message,
    )
    return _progress(session, task.id, None)


@router.get("/{task_id}", summary="A task's execution, overall and per guide")
def show(task_id: RowId, session: SessionDep, token: Reader) -> ProgressOut:
    return _progress(session, task_id, _own_guide(token))


def _progress(session, task_id: int, guide: int | None) -> ProgressOut:
    found = tasks.progress(session, task_id)
    guides = [g for g in found.guides if guide is None or g.guide_id == guide]
    if guide is not None and not guides:
        raise NotFound(N_("no such task among yours"), field="task_id")
    total = tasks.Count(sum(g.assigned for g in guides), sum(g.done for g in guides))
    return ProgressOut(
        **tasks.task_summary(found.task, total),
        guides=[GuideOut(**tasks.guide_summary(g)) for g in guides],
    )


@router.get("/{task_id}/assignments", summary="A task's customers, those still to do first")
def assignments(
    task_id: RowId, session: SessionDep, token: Reader, limit: int = 500
) -> list[AssignmentOut]:
    guide = _own_guide(token)
    tasks.find_task(session, task_id)
    return [
        _assignment_out(assignment, customer)
        for assignment, customer in tasks.assignments_of(
            session, task_id, guide, limit=max(1, min(limit, 5000))
        )
    ]


@router.post("/{task_id}/done", summary="The guide did the task for this customer")
def done(task_id: RowId, body: DoneIn, session: SessionDep, token: Doer) -> AssignmentOut:
    guide = _own_guide(token)
    assignment = tasks.mark_done(session, task_id, body.customer_id, "api", guide_id=guide)
    return _assignment_out(assignment, session.get_one(Customer, assignment.customer_id))


@router.post("/{task_id}/close", summary="Stop a task: what is not done counts as not executed")
def close(task_id: RowId, session: SessionDep, token: Manager) -> ProgressOut:
    tasks.close_task(session, task_id)
    return _progress(session, task_id, None)
