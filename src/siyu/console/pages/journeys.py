"""Journeys in the console (旅程 / SOP): the list, a journey started from an SOP template or from
JSON, its page with versions, publish / pause / resume, the draft's JSON edited with each
problem shown by its JSON path, and the per-step chart (entered, completed, waiting, exited
there)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from siyu.analytics import journey_steps, runner
from siyu.console.pages.arm_results import arm_results
from siyu.console.web import N_, allowed, render
from siyu.core.deps import SessionDep
from siyu.core.errors import SiyuError
from siyu.core.limits import Text, Text64, Text200
from siyu.core.periods import Period
from siyu.core.permissions import can
from siyu.core.settings import get_settings
from siyu.journeys import service as journeys
from siyu.journeys.definition import DefinitionError, Problem
from siyu.journeys.editing import moved_up, targets, with_step, without_step
from siyu.journeys.models import Journey
from siyu.messaging.labels import CHANNEL_LABELS
from siyu.promotions import service as promotions
from siyu.users.models import User

router = APIRouter(include_in_schema=False)
Viewer = Annotated[User, allowed("journeys.view")]
Manager = Annotated[User, allowed("journeys.manage")]
STATUSES = {
    "draft": N_("draft"),
    "active": N_("running"),
    "paused": N_("paused"),
    "archived": N_("archived"),
}


def _templates() -> list[tuple[str, str]]:
    """(name, what it is) of each SOP template: the description's head, in the brand's words."""
    found = []
    for name in journeys.TEMPLATES:
        description = str(journeys.template(name).get("description") or name)
        found.append((name, description.split("：", 1)[0]))
    return found


def _actor(user: User) -> str:
    return f"user:{user.email}"


def _problems(error: SiyuError) -> list[Problem]:
    """Each problem's message id and values: the page translates them."""
    if isinstance(error, DefinitionError):
        return error.problems
    return [Problem(error.field or "$", error.template, error.params)]


def _not_json(error: json.JSONDecodeError) -> list[Problem]:
    said = N_("not JSON: %(reason)s (line %(line)s)")
    return [Problem("$", said, {"reason": error.msg, "line": error.lineno})]


@router.get("/journeys", response_class=HTMLResponse)
def journey_list(request: Request, session: SessionDep, user: Viewer):
    rows = [journeys.summary(o) for o in journeys.list_journeys(session)]
    return render(
        request,
        "journeys_list.html",
        journeys=rows,
        templates=_templates(),
        statuses=STATUSES,
        can_manage=can(user.role, "journeys.manage"),
    )


@router.post("/journeys", response_class=HTMLResponse)
def create(
    request: Request,
    session: SessionDep,
    user: Manager,
    template: Annotated[str, Form()] = "",
    definition: Annotated[str, Form()] = "",
):
    """A new journey (a draft) from an SOP template or from pasted JSON."""
    try:
        document: Any = journeys.template(template) if template else json.loads(definition)
        journey = journeys.create_journey(session, document, _actor(user))
    except json.JSONDecodeError as error:
        return _list_with(request, session, user, _not_json(error), definition)
    except SiyuError as error:
        session.rollback()
        return _list_with(request, session, user, _problems(error), definition)
    return RedirectResponse(f"/journeys/{journey.key}", status_code=303)


def _list_with(request, session, user, problems, definition: str) -> HTMLResponse:
    rows = [journeys.summary(o) for o in journeys.list_journeys(session)]
    return render(
        request,
        "journeys_list.html",
        status_code=400,
        journeys=rows,
        templates=_templates(),
        statuses=STATUSES,
        can_manage=True,
        problems=problems,
        pasted=definition,
    )


def _funnel(session: Session, shown: dict[str, Any], journey: Journey) -> dict[str, Any]:
    """Per step in the definition's order: entered, completed, waiting in it and exited there.
    Completed and exited are the lake's (the journey_steps runner query), waiting the entries
    at the step now; entered is every entry that did one of the three."""
    steps = [s["id"] for s in shown["definition"].get("steps", []) if isinstance(s, dict)]
    waiting = journeys.waiting_by_step(session, journey.id)
    lake = {row.step: row for row in _lake_steps(journey)}
    completed = [lake[s].completed if s in lake else 0 for s in steps]
    exited = [lake[s].exited if s in lake else 0 for s in steps]
    reached = [lake[s].reached if s in lake else 0 for s in steps]
    waits = [waiting.get(s, 0) for s in steps]
    return {
        "steps": steps,
        "entered": [r + w for r, w in zip(reached, waits, strict=True)],
        "completed": completed,
        "waiting": waits,
        "exited": exited,
    }


def _lake_steps(journey: Journey) -> list[journey_steps.StepCounts]:
    zone = get_settings().zone
    today = datetime.now(zone).date()
    start = min(journey.created_at.astimezone(zone).date(), today)
    query = journey_steps.Query(journey_id=journey.id, period=Period(start=start, end=today))
    try:
        return runner.run(journey_steps, query).result.steps
    except Exception:  # no lake yet (a fresh install): no step has counts to show
        return []


RESULTS_WINDOW_DAYS = 7  # orders counted for an entry within this many days after it


def _results(journey: Journey) -> dict[str, Any] | None:
    """Per arm (the holdout, a split's variants, A for the rest): entries since the journey was
    made, what reached them, and their orders within RESULTS_WINDOW_DAYS; the lift."""
    start = journey.created_at.astimezone(get_settings().zone).date()
    today = datetime.now(get_settings().zone).date()
    return arm_results("journey", journey.id, min(start, today), RESULTS_WINDOW_DAYS, end=today)


def _page(request, session, user, key: str, status_code: int = 200, **extra) -> HTMLResponse:
    shown = journeys.show(session, key)
    journey = journeys.find_journey(session, key)
    draft = extra.pop("draft", None) or json.dumps(
        shown["definition"], ensure_ascii=False, indent=2
    )
    return render(
        request,
        "journeys_detail.html",
        status_code=status_code,
        journey=shown,
        funnel=_funnel(session, shown, journey),
        results=_results(journey),
        results_days=RESULTS_WINDOW_DAYS,
        statuses=STATUSES,
        draft=draft,
        can_manage=can(user.role, "journeys.manage"),
        form_kinds=FORM_KINDS,
        draft_steps=_draft_steps(shown["definition"]),
        step_kinds=STEP_KIND_LABELS,
        form_channels=FORM_CHANNELS,
        coupon_templates=promotions.list_templates(session),
        **extra,
    )


@router.get("/journeys/{journey_key}", response_class=HTMLResponse)
def journey_page(
    request: Request, session: SessionDep, user: Viewer, journey_key: str, done: str = ""
):
    return _page(request, session, user, journey_key, done=done)


@router.post("/journeys/{journey_key}/draft", response_class=HTMLResponse)
def save(
    request: Request,
    session: SessionDep,
    user: Manager,
    journey_key: str,
    definition: Annotated[str, Form()],
):
    """Save the JSON as the draft (a new version once the current one is published)."""
    key = journey_key
    try:
        journeys.save_draft(session, key, json.loads(definition), _actor(user))
    except json.JSONDecodeError as error:
        problems = _not_json(error)
        return _page(request, session, user, key, 400, problems=problems, draft=definition)
    except SiyuError as error:
        session.rollback()
        problems = _problems(error)
        return _page(request, session, user, key, 400, problems=problems, draft=definition)
    return RedirectResponse(f"/journeys/{key}?done=saved", status_code=303)


def _act(request: Request, session, user: User, key: str, action: str) -> Any:
    """Publish the draft, pause, or resume; a refusal is shown on the page with its path."""
    try:
        ACTIONS[action](session, key, _actor(user))
    except SiyuError as error:
        session.rollback()
        return _page(request, session, user, key, 400, problems=_problems(error))
    return RedirectResponse(f"/journeys/{key}?done={action}", status_code=303)


ACTIONS: dict[str, Callable[[Session, str, str], object]] = {
    "publish": journeys.publish,
    "pause": journeys.pause,
    "resume": journeys.resume,
}


@router.post("/journeys/{journey_key}/publish", response_class=HTMLResponse)
def publish(request: Request, session: SessionDep, user: Manager, journey_key: str):
    return _act(request, session, user, journey_key, "publish")


@router.post("/journeys/{journey_key}/pause", response_class=HTMLResponse)
def pause(request: Request, session: SessionDep, user: Manager, journey_key: str):
    return _act(request, session, user, journey_key, "pause")


@router.post("/journeys/{journey_key}/resume", response_class=HTMLResponse)
def resume(request: Request, session: SessionDep, user: Manager, journey_key: str):
    return _act(request, session, user, journey_key, "resume")


# --- the step form: the draft's steps added one at a time, without JSON -------------------------

FORM_KINDS = {
    "send": N_("Send a message"),
    "wait": N_("Wait"),
    "tag": N_("Add a tag"),
    "untag": N_("Remove a tag"),
    "task": N_("Hand the guide a task"),
    "coupon": N_("Issue a coupon"),
    "holdout": N_("Hold some out (for the lift)"),
    "exit": N_("Exit"),
}
# Outbound calls are left to the JSON editor: a call step makes call lists, not a message.
FORM_CHANNELS = {c: CHANNEL_LABELS[c] for c in ("wecom", "official_account", "sms", "email")}


STEP_KIND_LABELS = FORM_KINDS | {
    "branch": N_("Branch on a condition"),
    "split": N_("A/B split"),
    "webhook": N_("Call a webhook"),
}


def _draft_steps(definition: dict[str, Any]) -> list[dict[str, str]]:
    """The saved draft's steps as the builder lists them: id, kind, and where each leads."""
    return [
        {"id": str(s.get("id")), "kind": str(s.get("kind")), "then_to": ", ".join(targets(s))}
        for s in definition.get("steps", [])
        if isinstance(s, dict)
    ]


def _number(text: str) -> int | float | str:
    """A form's number as JSON has it; anything else as typed, for the checks to name."""
    text = text.strip()
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def form_step(form: dict[str, str]) -> dict[str, Any]:
    """The JSON of one step from the form's fields (the definition's own checks judge it)."""
    step: dict[str, Any] = {"id": form.get("step_id", "").strip(), "kind": form.get("kind", "")}
    if step["kind"] == "send":
        channel = form.get("channel", "")
        content = {"text": form.get("text", "")}
        if channel == "email":
            content["subject"] = form.get("subject", "")
        step |= {"channel": channel, "content": {channel: content}}
    elif step["kind"] == "wait":
        step["duration"] = form.get("duration", "").strip()
    elif step["kind"] in ("tag", "untag"):
        step["tag"] = form.get("tag", "").strip()
    elif step["kind"] == "task":
        step |= {
            "title": form.get("title", "").strip(),
            "due_days": _number(form.get("due_days", "")),
        }
        if form.get("text", "").strip():
            step["message"] = form["text"]
    elif step["kind"] == "coupon":
        step["template"] = form.get("template", "").strip()
    elif step["kind"] == "holdout":
        step["percent"] = _number(form.get("percent", ""))
    return step


def _field_problems(problems: list[Problem], index: int) -> dict[str, list[Problem]]:
    """The new step's problems by form field ($.steps[3].content.sms → content)."""
    prefix = f"$.steps[{index}]"
    found: dict[str, list[Problem]] = {}
    for problem in problems:
        if problem.path == prefix or problem.path.startswith(prefix + "."):
            rest = problem.path[len(prefix) + 1 :] or "kind"
            field = rest.split(".", 1)[0].split("[", 1)[0]
            found.setdefault({"id": "step_id"}.get(field, field), []).append(problem)
    return found


class StepForm(BaseModel):
    """The step form's fields as posted; which of them count depends on the kind (form_step),
    and the definition's own checks judge the step they make."""

    kind: Text64 = ""
    step_id: Text64 = ""
    channel: Text64 = ""
    subject: Text200 = ""
    text: Text = ""
    duration: Text64 = ""
    tag: Text200 = ""
    title: Text200 = ""
    due_days: Text64 = ""
    percent: Text64 = ""
    template: Text64 = ""


@router.post("/journeys/{journey_key}/steps", response_class=HTMLResponse)
def add_step(
    request: Request,
    session: SessionDep,
    user: Manager,
    journey_key: str,
    posted: Annotated[StepForm, Form()],
):
    """Add one step (FORM_KINDS) to the end of the draft, checked as the JSON is."""
    form = posted.model_dump()
    key = journey_key
    shown = journeys.show(session, key)
    step = form_step(form)
    document = with_step(shown["definition"], step)
    try:
        journeys.save_draft(session, key, document, _actor(user))
    except SiyuError as error:
        session.rollback()
        problems = _problems(error)
        fields = _field_problems(problems, len(document["steps"]) - 1)
        rest = [p for p in problems if not any(p in found for found in fields.values())]
        return _page(
            request, session, user, key, 400, problems=rest, step_problems=fields, step_form=form
        )
    return RedirectResponse(f"/journeys/{key}?done=step", status_code=303)


EDITS: dict[str, Callable[[dict[str, Any], str], dict[str, Any]]] = {
    "remove": without_step,
    "up": moved_up,
}


@router.post("/journeys/{journey_key}/steps/{step_id}/{edit}", response_class=HTMLResponse)
def edit_step(
    request: Request,
    session: SessionDep,
    user: Manager,
    journey_key: Text64,
    step_id: Text64,
    edit: Literal["remove", "up"],
):
    """Remove a step of the draft or move it up, the links around it mended (journeys.editing);
    the result is checked as the JSON is, and a refusal is shown with its path."""
    key = journey_key
    shown = journeys.show(session, key)
    try:
        document = EDITS[edit](shown["definition"], step_id)
        journeys.save_draft(session, key, document, _actor(user))
    except SiyuError as error:
        session.rollback()
        return _page(request, session, user, key, 400, problems=_problems(error))
    return RedirectResponse(f"/journeys/{key}?done=saved", status_code=303)
