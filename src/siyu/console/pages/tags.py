"""Console page for tags: groups with counts, auto-tag rules, history, bulk tagging, lifecycle."""

from __future__ import annotations

import json
from typing import Annotated, Any

from annotated_types import Ge, Le
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationInfo, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from siyu.console.web import allowed, render
from siyu.core import jobs
from siyu.core.db import utcnow
from siyu.core.deps import FormDep, SessionDep
from siyu.core.errors import InvalidInput, SiyuError
from siyu.core.forms import Submission, one_of, posted, read_form
from siyu.core.i18n import N_
from siyu.core.limits import MAX_DAYS, Text40, Text64
from siyu.customers import service as customers
from siyu.segments import lifecycle
from siyu.segments import service as segments
from siyu.tags import bulk, service
from siyu.tags.models import Tag, TagGroup
from siyu.users.models import User

router = APIRouter(include_in_schema=False)
Reader = Annotated[User, allowed("tags.view")]
Editor = Annotated[User, allowed("tags.edit")]
GROUP_NAMES = {
    "enterprise": N_("Enterprise"),
    "work": N_("Work"),
    "life": N_("Life"),
    "behaviour": N_("Behaviour"),
    "lifecycle": N_("Lifecycle"),
    "rfm": N_("RFM layers"),
    "other": N_("Other"),
}


@router.get("/tags")
def tag_page(
    request: Request, session: SessionDep, user: Reader, tag: str = "", done: str = ""
) -> Response:
    return _tag_page(request, session, tag, done=done)


def _tag_page(
    request: Request, session: Session, tag: str = "", status_code: int = 200, **context: Any
) -> Response:
    tags = service.all_tags(session)
    chosen = service.find_tag(session, tag) if tag else None
    brand_groups = {g.key: g.name for g in session.scalars(select(TagGroup))}
    return render(
        request,
        "tag_page.html",
        status_code=status_code,
        groups=service.group_keys(session),
        group_names=brand_groups,
        builtin_names=GROUP_NAMES,
        tags=tags,
        counts=service.tag_counts(session),
        rules={t.id: json.dumps(t.rule, ensure_ascii=False) for t in tags if t.rule},
        chosen=chosen,
        changes=service.history(session, tag_id=chosen.id if chosen else None),
        segments=segments.list_segments(session),
        limits=lifecycle.thresholds(session),
        **context,
    )


class NewTag(BaseModel):
    """The new-tag form; the service says what a name and a group must be."""

    name: Text64
    group: Text40 = "other"


class NewGroup(BaseModel):
    """The new-group form: a short key and a name."""

    key: Text40
    name: Text64


@router.post("/tags")
def create_tag(
    request: Request,
    session: SessionDep,
    user: Editor,
    form: Annotated[Submission[NewTag], posted(NewTag)],
) -> Response:
    if form.data is None:
        return _tag_page(request, session, status_code=400, new_tag=form)
    try:
        service.ensure_tag(session, form.data.name, form.data.group)
    except SiyuError as error:
        session.rollback()
        return _tag_page(request, session, status_code=error.status, new_tag=form.refuse(error))
    return RedirectResponse("/tags", status_code=303)


@router.post("/tags/groups")
def create_group(
    request: Request,
    session: SessionDep,
    user: Editor,
    form: Annotated[Submission[NewGroup], posted(NewGroup)],
) -> Response:
    if form.data is None:
        return _tag_page(request, session, status_code=400, new_group=form)
    try:
        service.add_group(session, form.data.key, form.data.name)
    except SiyuError as error:
        session.rollback()
        return _tag_page(request, session, status_code=error.status, new_group=form.refuse(error))
    return RedirectResponse("/tags", status_code=303)


class BulkTagging(BaseModel):
    """The bulk-tagging form: a tag kept by hand, add or remove, and whose: a segment's members
    or the customers of an uploaded file of ids or phones (beside the form)."""

    tag: Text64
    action: Annotated[str, one_of(("add", "remove"))] = "add"
    segment: Text64 = ""


@router.post("/tags/bulk")
def bulk_tagging(
    request: Request,
    # Before the user: the body is read (and cut off at the edge's limit) before signing in,
    # as FastAPI does for File() parameters.
    form: FormDep,
    session: SessionDep,
    user: Editor,
) -> Response:
    """Tag a segment's members or an uploaded list of ids/phones; runs as a job."""
    sent = read_form(BulkTagging, form)
    if sent.data is None:
        return _tag_page(request, session, status_code=400, bulk=sent)
    file = form.get("file")
    data = file.file.read() if isinstance(file, UploadFile) else b""
    try:
        chosen = _start_bulk(session, user, sent.data, data)
    except SiyuError as error:
        session.rollback()
        refused = sent.refuse(error, "segment" if error.field == "key" else None)
        return _tag_page(request, session, status_code=error.status, bulk=refused)
    return RedirectResponse(f"/tags?tag={chosen.id}&done=bulk", status_code=303)


def _start_bulk(session: Session, user: User, form: BulkTagging, data: bytes) -> Tag:
    chosen = service.find_tag(session, form.tag)
    if not form.segment and not data:
        raise InvalidInput(N_("choose a segment or upload a file of ids or phones"), field="file")
    if form.segment:
        segments.find_segment(session, form.segment)
    found: set[int] = set()
    if data:
        found, _ = bulk.resolve_refs(session, customers.read_list(data))
    bulk.enqueue_bulk(
        session,
        chosen,
        segment_key=form.segment or None,
        customer_ids=found,
        remove=form.action == "remove",
        actor=f"user:{user.email}",
    )
    return chosen


Days = Annotated[int, Ge(1), Le(MAX_DAYS)]


class LifecycleDays(BaseModel):
    """The lifecycle form: the days that separate new, active, silent and churned."""

    new_days: Days
    active_days: Days
    churned_days: Days

    @field_validator("churned_days")
    @classmethod
    def _after_active(cls, churned: int, info: ValidationInfo) -> int:
        if churned <= info.data.get("active_days", 0):
            raise ValueError(N_("must be more than the active days"))
        return churned


@router.post("/tags/lifecycle")
def save_lifecycle(
    request: Request,
    session: SessionDep,
    user: Editor,
    form: Annotated[Submission[LifecycleDays], posted(LifecycleDays)],
) -> Response:
    if form.data is None:
        return _tag_page(request, session, status_code=400, form=form)
    days = form.data
    lifecycle.set_thresholds(session, days.new_days, days.active_days, days.churned_days)
    _evaluate_soon(session)
    return RedirectResponse("/tags?done=lifecycle", status_code=303)


@router.post("/tags/evaluate")
def evaluate(session: SessionDep, user: Editor) -> Response:
    _evaluate_soon(session)
    return RedirectResponse("/tags?done=evaluate", status_code=303)


def _evaluate_soon(session) -> None:
    jobs.enqueue(session, "tags.evaluate", f"tags.evaluate:console:{utcnow().isoformat()}")
