"""Guide tasks (导购任务) in the console: operators hand a task to a segment's guides and follow
its execution per guide; a guide sees their open tasks and marks customers done."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from siyu.console.pages.workbench import chat_context
from siyu.console.web import N_, allowed, gettext, render, request_locale
from siyu.core.db import utcnow
from siyu.core.deps import SessionDep
from siyu.core.errors import Conflict, InvalidInput, NotFound, SiyuError
from siyu.core.forms import Submission, one_of, posted
from siyu.core.limits import Day, RowId, Text, Text64, Text200
from siyu.core.settings import get_settings
from siyu.segments.service import list_segments
from siyu.tasks import service as tasks
from siyu.tasks import workbench
from siyu.tasks.models import TASK_KINDS
from siyu.users.models import User

router = APIRouter(include_in_schema=False)
Viewer = Annotated[User, allowed("tasks.view")]
Manager = Annotated[User, allowed("tasks.manage")]
Doer = Annotated[User, allowed("tasks.do")]

KIND_LABELS = {
    "message": N_("Send a message"),
    "follow_up": N_("Follow up"),
    "invite": N_("Invite to a group"),
}
HOW_LABELS = {
    "console": N_("marked in the console"),
    "cli": N_("marked from the command line"),
    "api": N_("marked through the API"),
    "message_sent": N_("seen as a message sent"),
}


def _is_guide(user: User) -> bool:
    return user.role == "guide"


def _today() -> date:
    return utcnow().astimezone(get_settings().zone).date()


def _list_page(request: Request, session: Session, user: User, status_code=200, **context):
    if _is_guide(user):
        rows = tasks.open_tasks_of(session, user.staff_id) if user.staff_id else []
    else:
        rows = tasks.list_tasks(session)
    return render(
        request,
        "tasks_list.html",
        status_code=status_code,
        rows=rows,
        is_guide=_is_guide(user),
        segments=list_segments(session) if not _is_guide(user) else [],
        kinds=TASK_KINDS,
        kind_labels=KIND_LABELS,
        today=_today(),
        default_due=_today() + timedelta(days=3),
        **context,
    )


@router.get("/tasks", response_class=HTMLResponse)
def tasks_page(request: Request, session: SessionDep, user: Viewer, done: str = ""):
    return _list_page(request, session, user, done=done)


class NewTask(BaseModel):
    """The new-task form: what the guides are asked to do, for which segment, by when."""

    title: Text200
    kind: Annotated[str, one_of(TASK_KINDS)] = "message"
    segment: Text64
    due_date: Day
    instructions: Text = ""
    message: Text = ""


@router.post("/tasks", response_class=HTMLResponse)
def create_task(
    request: Request,
    session: SessionDep,
    user: Manager,
    form: Annotated[Submission[NewTask], posted(NewTask)],
):
    if form.data is None:
        return _list_page(request, session, user, 400, form=form)
    new = form.data
    try:
        made = tasks.create_task(
            session,
            new.title,
            new.due_date,
            f"user:{user.email}",
            kind=new.kind,
            segment_key=new.segment,
            instructions=new.instructions,
            message=new.message,
        )
    except SiyuError as error:
        session.rollback()
        return _list_page(request, session, user, error.status, form=form.refuse(error))
    return RedirectResponse(f"/tasks/{made.id}?done=created", status_code=303)


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
def task_page(request: Request, session: SessionDep, user: Viewer, task_id: RowId, done: str = ""):
    return _task_page(request, session, user, task_id, done=done)


def _task_page(
    request: Request,
    session: Session,
    user: User,
    task_id: int,
    status_code: int = 200,
    **context: Any,
) -> Response:
    guide = user.staff_id if _is_guide(user) else None
    found = tasks.progress(session, task_id)
    if _is_guide(user) and not any(g.guide_id == guide for g in found.guides):
        raise NotFound(N_("no such task among yours"), field="task_id")
    chart = {
        "guides": [g.name for g in found.guides],
        "done": [g.done for g in found.guides],
        "open": [g.open for g in found.guides],
    }
    assignments = tasks.assignments_of(session, task_id, guide, limit=500 if guide else 100)
    return render(
        request,
        "task_detail.html",
        status_code=status_code,
        progress=found,
        task=found.task,
        assignments=assignments,
        cards=workbench.cards(session, [c for _, c in assignments]) if guide else {},
        is_guide=_is_guide(user),
        **(chat_context(request) if guide else {}),
        chart=chart,
        kind_labels=KIND_LABELS,
        how_labels=HOW_LABELS,
        overdue=found.task.due_date < _today(),
        **context,
    )


class Done(BaseModel):
    """The mark-done button's customer."""

    customer_id: RowId


@router.post("/tasks/{task_id}/done")
def mark_done(
    request: Request,
    session: SessionDep,
    user: Doer,
    task_id: RowId,
    form: Annotated[Submission[Done], posted(Done)],
):
    guide = user.staff_id if _is_guide(user) else None
    if _is_guide(user) and guide is None:
        raise NotFound(N_("no such task among yours"), field="task_id")
    if form.data is None:
        return _task_page(request, session, user, task_id, 400, marked=form)
    customer_id = form.data.customer_id
    try:
        tasks.mark_done(session, task_id, customer_id, "console", guide_id=guide)
    except Conflict as error:  # the task closed meanwhile: say so, on the card or the page
        session.rollback()
        if _is_card_swap(request):
            return _card(request, session, user, task_id, customer_id, problem=error.message)
        return _task_page(request, session, user, task_id, error.status, marked=form.refuse(error))
    if _is_card_swap(request):
        return _card(request, session, user, task_id, customer_id, toast=N_("Marked done."))
    return RedirectResponse(f"/tasks/{task_id}?done=marked#c{customer_id}", status_code=303)


@router.post("/tasks/{task_id}/close")
def close_task(session: SessionDep, _: Manager, task_id: RowId):
    tasks.close_task(session, task_id)
    return RedirectResponse(f"/tasks/{task_id}?done=closed", status_code=303)


def _is_card_swap(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _card(
    request: Request,
    session: Session,
    user: User,
    task_id: int,
    customer_id: int,
    *,
    toast: str | None = None,
    problem: str | None = None,
    params: dict | None = None,
) -> Response:
    """One customer's card, swapped in place (the page does not move), with the task's numbers
    out of band and a toast named in HX-Trigger. htmx swaps 2xx answers only: errors come with
    a 200 and show on the card."""
    guide = user.staff_id if _is_guide(user) else None
    found = tasks.progress(session, task_id)
    assignment, customer = tasks.assignment_of(session, task_id, customer_id, guide)
    say = gettext(request_locale(request, user))
    if problem is not None:
        problem = say(problem) % params if params else say(problem)
    response = render(
        request,
        "task_card_swap.html",
        progress=found,
        task=found.task,
        a=assignment,
        c=customer,
        cards=workbench.cards(session, [customer]),
        card_error=problem,
        is_guide=_is_guide(user),
        how_labels=HOW_LABELS,
        oob=True,
    )
    shown = problem or (say(toast) if toast else None)
    if shown:
        response.headers["HX-Trigger"] = json.dumps(
            {"siyu-toast": {"text": shown, "error": problem is not None}}
        )
    return response


class CustomerTagForm(BaseModel):
    """A card's add-tag form: the tag's name (made when new)."""

    name: Text64


class NoteForm(BaseModel):
    """A card's note form."""

    body: Text


@router.post("/tasks/{task_id}/customers/{customer_id}/tags")
def tag_customer(
    request: Request,
    form: Annotated[Submission[CustomerTagForm], posted(CustomerTagForm)],
    session: SessionDep,
    user: Doer,
    task_id: RowId,
    customer_id: RowId,
):
    """A guide tags a customer of theirs from the task: a brand action, not the customer's."""
    name = form.data.name if form.data else None
    done = N_("Tag added.")
    return _jot(
        request, session, user, task_id, customer_id, form, workbench.tag_customer, name, done
    )


@router.post("/tasks/{task_id}/customers/{customer_id}/notes")
def add_note(
    request: Request,
    form: Annotated[Submission[NoteForm], posted(NoteForm)],
    session: SessionDep,
    user: Doer,
    task_id: RowId,
    customer_id: RowId,
):
    """A guide writes down what they learned about a customer of theirs."""
    body = form.data.body if form.data else None
    done = N_("Note saved.")
    return _jot(request, session, user, task_id, customer_id, form, workbench.add_note, body, done)


def _jot(
    request: Request,
    session: Session,
    user: User,
    task_id: int,
    customer_id: int,
    form: Submission[Any],
    write: Callable[..., object],
    text: str | None,
    toast: str,
) -> Response:
    """A card's tag or note: `write` the form's text on a customer of the task (a guide's: only
    one of theirs), then the card again (htmx), or back to the task at the card (a plain post)."""
    guide = user.staff_id if _is_guide(user) else None
    tasks.assignment_of(session, task_id, customer_id, guide)  # 404 unless it is theirs
    error: SiyuError | None = None
    params = None
    if text is None:
        name, found = next(iter(form.errors.items()))
        error, params = InvalidInput(found.message, field=name), found.params
    else:
        try:
            write(
                session,
                customer_id,
                text,
                f"user:{user.email}",
                role=user.role,
                staff_id=user.staff_id,
            )
        except SiyuError as refused:
            session.rollback()
            error = refused
    if _is_card_swap(request):
        problem = error.message if error else None
        return _card(
            request,
            session,
            user,
            task_id,
            customer_id,
            toast=toast,
            problem=problem,
            params=params,
        )
    if error is not None:
        raise error
    return RedirectResponse(f"/tasks/{task_id}#c{customer_id}", status_code=303)
