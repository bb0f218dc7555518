"""Reach (触达) in the console: the section's start page, and broadcasts (群发): the list, the
builder with its live preview (who gets it at a chosen time, who is left out and why, template
variables a customer lacks), and a broadcast's page (counts, each guide's 群发, results)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.broadcasts import service as broadcasts
from siyu.broadcasts.models import Broadcast
from siyu.console.pages.arm_results import arm_results
from siyu.console.web import N_, allowed, render
from siyu.core.db import utcnow
from siyu.core.deps import SessionDep
from siyu.core.errors import SiyuError
from siyu.core.forms import FieldError, Submission, one_of, posted
from siyu.core.limits import RowId, Text, Text64, Text200
from siyu.core.settings import get_settings
from siyu.customers.models import Customer
from siyu.messaging import group_sends, templates
from siyu.messaging.labels import CHANNEL_LABELS, REASON_LABELS
from siyu.messaging.models import CHANNELS, PURPOSES, Channel, MessageContent
from siyu.promotions import service as promotions
from siyu.segments.service import list_segments
from siyu.staff.models import Staff, Store
from siyu.tags.models import Tag
from siyu.users.models import User

log = logging.getLogger("siyu.console")
router = APIRouter(include_in_schema=False)
Viewer = Annotated[User, allowed("broadcasts.view")]
Manager = Annotated[User, allowed("broadcasts.manage")]

STATUS_LABELS = {
    "draft": N_("Draft"),
    "scheduled": N_("Scheduled"),
    "sending": N_("Sending"),
    "sent": N_("Sent"),
    "cancelled": N_("Cancelled"),
}
AUDIENCE_LABELS = {
    "segment": N_("A saved segment"),
    "tags": N_("Customers with tags"),
    "list": N_("An uploaded list"),
}
# How a broadcast's tag filter reads: {"any": [...], "all": [...], "none": [...]}.
TAG_HOW_LABELS = {"any": N_("any of"), "all": N_("all of"), "none": N_("none of")}
PURPOSE_LABELS = {"marketing": N_("Marketing"), "transactional": N_("Transactional")}
GROUP_STATUS_LABELS = {
    "pending": N_("Not confirmed yet"),
    "sent": N_("Sent"),
    "partly": N_("Partly sent"),
    "failed": N_("Failed"),
    "cancelled": N_("Cancelled"),
}
# Left-out reasons the preview names, and "deferred" (quiet hours: sent when they end).
PREVIEW_REASONS = {
    **REASON_LABELS,
    "held_out": N_("Holdout (kept back to measure the effect)"),
    "deferred": N_("Quiet hours: sent when they end"),
}
FIELD_NAMES = {
    "subject_a": N_("Subject (email)"),
    "text_a": N_("Text"),
    "subject_b": N_("Subject of B (email)"),
    "text_b": N_("Text of B"),
}
SAMPLE = 200  # customers of the audience whose template variables the preview checks
FIELDS = (
    "name",
    "audience",
    "segment",
    "tags_any",
    "tags_none",
    "customers",
    "channel_1",
    "channel_2",
    "channel_3",
    "purpose",
    "subject_a",
    "text_a",
    "weight_a",
    "subject_b",
    "text_b",
    "weight_b",
    "holdout",
    "send_at",
    "preview_at",
)


def _zone():
    return get_settings().zone


def _local_input(moment: datetime | None) -> str:
    """A datetime-local input's value, in the brand's zone."""
    return moment.astimezone(_zone()).strftime("%Y-%m-%dT%H:%M") if moment else ""


def _from_local(text: str) -> datetime | None:
    """A datetime-local input's value (the brand's zone) as an aware time; None when blank."""
    text = text.strip()
    if not text:
        return None
    return datetime.fromisoformat(text).replace(tzinfo=_zone())


# -- the section's start page ----------------------------------------------------------------


@router.get("/reach", response_class=HTMLResponse)
def reach(request: Request, session: SessionDep, user: Annotated[User, allowed("customers.view")]):
    """What reach holds, as links a role may follow; a guide goes to their own 群发."""
    if user.role == "guide":
        return RedirectResponse("/reach/my", status_code=303)
    journeys = any(getattr(route, "path", "") == "/journeys" for route in request.app.routes)
    return render(request, "reach_home.html", journeys=journeys)


# -- broadcasts ------------------------------------------------------------------------------


@router.get("/reach/broadcasts", response_class=HTMLResponse)
def broadcast_list(request: Request, session: SessionDep, user: Viewer, done: str = ""):
    rows = [(b, broadcasts.counts(session, b)) for b in broadcasts.list_broadcasts(session)]
    return render(
        request,
        "reach_broadcasts.html",
        rows=rows,
        segment_names=_segment_names(session),
        done=done,
        status_labels=STATUS_LABELS,
        channel_labels=CHANNEL_LABELS,
        audience_labels=AUDIENCE_LABELS,
    )


def _segment_names(session: Session) -> dict[str, str]:
    """A broadcast names its segment by key; people read it by its name."""
    return {segment.key: segment.name for segment in list_segments(session)}


class BroadcastForm(BaseModel):
    """The builder: who (one audience), on which channels (a fallback order), what (one or two
    variants), how many held back, and when."""

    name: Text200
    audience: Annotated[str, one_of(("segment", "tags", "list"))] = "segment"
    segment: Text64 = ""
    tags_any: Text = ""
    tags_none: Text = ""
    customers: Text = ""
    channel_1: Annotated[str, one_of(CHANNELS)]
    channel_2: Annotated[str, one_of(("", *CHANNELS))] = ""
    channel_3: Annotated[str, one_of(("", *CHANNELS))] = ""
    purpose: Annotated[str, one_of(PURPOSES)] = "marketing"
    subject_a: Text200 = ""
    text_a: Text
    weight_a: int = Field(1, ge=1, le=100)
    subject_b: Text200 = ""
    text_b: Text = ""
    weight_b: int = Field(1, ge=1, le=100)
    holdout: int = Field(0, ge=0, le=50)
    coupon: Text64 = ""
    send_at: Text64 = ""
    preview_at: Text64 = ""


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.replace("，", ",").replace("\n", ",").split(",") if n.strip()]


def _channels(form: BroadcastForm) -> list[str]:
    return [c for c in (form.channel_1, form.channel_2, form.channel_3) if c]


def _variants(form: BroadcastForm) -> list[broadcasts.VariantSpec]:
    made = [
        broadcasts.VariantSpec(
            key="A", weight=form.weight_a, subject=form.subject_a or None, text=form.text_a
        )
    ]
    if form.text_b.strip():
        made.append(
            broadcasts.VariantSpec(
                key="B", weight=form.weight_b, subject=form.subject_b or None, text=form.text_b
            )
        )
    return made


# Where the service names a field, and the builder's field it is.
SERVICE_FIELDS = {
    "channel": "channel_1",
    "holdout": "holdout",
    "coupon": "coupon",
    "tags": "tags_any",
    "list": "customers",
    "variants.0.text": "text_a",
    "variants.0.subject": "subject_a",
    "variants.0.weight": "weight_a",
    "variants.1.text": "text_b",
    "variants.1.subject": "subject_b",
    "variants.1.weight": "weight_b",
    "audience": "audience",
    "segment": "segment",
    "id": "segment",
    "key": "segment",
}


def _write(session: Session, form: BroadcastForm, actor: str) -> tuple[Broadcast, list[str]]:
    """The draft the form describes; the list's references that named no one."""
    unknown: list[str] = []
    customer_ids = None
    if form.audience == "list":
        customer_ids, unknown = broadcasts.ids_from_refs(session, _names(form.customers))
    tag_filter = None
    if form.audience == "tags":
        tag_filter = {"any": _names(form.tags_any), "none": _names(form.tags_none)}
    made = broadcasts.create(
        session,
        name=form.name,
        actor=actor,
        channels=_channels(form),
        variants=_variants(form),
        segment_key=form.segment if form.audience == "segment" else None,
        tag_filter=tag_filter,
        customer_ids=customer_ids,
        purpose=form.purpose,
        holdout_percent=form.holdout,
        coupon_template=form.coupon or None,
    )
    return made, unknown


def _refuse(form: Submission[BroadcastForm], error: SiyuError) -> Submission[BroadcastForm]:
    return form.refuse(error, SERVICE_FIELDS.get(error.field or "", ""))


def _times(form: Submission[BroadcastForm]) -> tuple[datetime | None, datetime | None] | None:
    """The send and preview times the form names, or None after naming the bad one."""
    data = form.data
    assert data is not None
    found = []
    for name in ("send_at", "preview_at"):
        try:
            found.append(_from_local(getattr(data, name)))
        except ValueError:
            form.errors[name] = _bad_time()
            return None
    return found[0], found[1]


def _bad_time() -> FieldError:
    return FieldError(N_("enter a date and time"))


def _builder(request: Request, session: Session, status_code: int = 200, **context: Any):
    form = context.pop("form", None)
    values = form.values if form else {"preview_at": "", "holdout": "0", "weight_a": "1"}
    segment = request.query_params.get("segment")
    if form is None and segment:
        values = {**values, "segment": segment, "audience": "segment"}
    return render(
        request,
        "reach_broadcast_new.html",
        status_code=status_code,
        form=form,
        v=values,
        segments=list_segments(session),
        coupons=[t for t in promotions.list_templates(session) if t.status == "active"],
        tags=list(session.scalars(select(Tag.name).order_by(Tag.name).limit(500))),
        channels=CHANNELS,
        channel_labels=CHANNEL_LABELS,
        purposes=PURPOSES,
        purpose_labels=PURPOSE_LABELS,
        audience_labels=AUDIENCE_LABELS,
        fields=FIELDS,
        **context,
    )


@router.get("/reach/broadcasts/new", response_class=HTMLResponse)
def new_broadcast(request: Request, session: SessionDep, user: Manager):
    return _builder(request, session)


@router.post("/reach/broadcasts/preview", response_class=HTMLResponse)
def builder_preview(
    request: Request,
    session: SessionDep,
    user: Manager,
    form: Annotated[Submission[BroadcastForm], posted(BroadcastForm)],
):
    """The builder's live count: the broadcast as it stands, written in a savepoint that is
    rolled back, previewed at the chosen time; nothing is kept."""
    context: dict[str, Any] = {
        "form": form,
        "labels": PREVIEW_REASONS,
        "channel_labels": CHANNEL_LABELS,
        "field_names": FIELD_NAMES,
    }
    if form.data is None or (times := _times(form)) is None:
        return render(request, "reach_preview.html", **context)
    at = times[1] or utcnow()
    nested = session.begin_nested()
    try:
        made, unknown = _write(session, form.data, f"user:{user.email}")
        context.update(
            counts=broadcasts.preview(session, made, at),
            problems=_template_problems(session, made, form.data),
            unknown=unknown,
            at=at,
        )
    except SiyuError as error:
        _refuse(form, error)
    finally:
        nested.rollback()
    return render(request, "reach_preview.html", **context)


def _template_problems(
    session: Session, made: Broadcast, form: BroadcastForm
) -> list[dict[str, Any]]:
    """Each template variable some customer of the audience lacks (checked on the first
    SAMPLE customers): which field, which variable, how many of those checked lack it."""
    ids = list(session.scalars(broadcasts.audience(session, made).limit(SAMPLE)))
    if not ids:
        return []
    people = session.scalars(select(Customer).where(Customer.id.in_(ids))).all()
    guides = dict(session.execute(select(Staff.id, Staff.name)).all())
    stores = dict(session.execute(select(Store.id, Store.name)).all())
    parts = {
        "subject_a": form.subject_a,
        "text_a": form.text_a,
        "subject_b": form.subject_b,
        "text_b": form.text_b,
    }
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for customer in people:
        ctx = templates.context(
            customer.id,
            customer.traits,
            guide=guides.get(customer.owner_id) if customer.owner_id else None,
            store=stores.get(customer.store_id) if customer.store_id else None,
            unsubscribe_url="https://example.invalid/u" if "email" in made.channels else None,
        )
        for field, source in parts.items():
            if not source.strip():
                continue
            for problem in templates.check(source, ctx, field):
                key = (field, problem.variable or problem.message)
                entry = found.setdefault(
                    key,
                    {
                        "field": field,
                        "variable": problem.variable,
                        "message": problem.message,
                        "customers": 0,
                        "example": customer.id,
                    },
                )
                entry["customers"] += 1
    return [{**p, "checked": len(people)} for p in found.values()]


@router.post("/reach/broadcasts", response_class=HTMLResponse)
def create_broadcast(
    request: Request,
    session: SessionDep,
    user: Manager,
    form: Annotated[Submission[BroadcastForm], posted(BroadcastForm)],
):
    """Save the draft; with "send", send it now or at its time."""
    if form.data is None or (times := _times(form)) is None:
        return _builder(request, session, 400, form=form)
    sending = form.values.get("action") == "send"
    try:
        made, _unknown = _write(session, form.data, f"user:{user.email}")
        if sending:
            _send(session, made, times[0])
    except SiyuError as error:
        session.rollback()
        return _builder(request, session, error.status, form=_refuse(form, error))
    done = "sent" if sending else "created"
    return RedirectResponse(f"/reach/broadcasts/{made.id}?done={done}", status_code=303)


def _send(session: Session, made: Broadcast, at: datetime | None) -> None:
    broadcasts.schedule(session, made, at)
    if at is None or at <= datetime.now(UTC):
        broadcasts.plan_now(session, made)


@router.get("/reach/broadcasts/{broadcast_id}", response_class=HTMLResponse)
def broadcast_page(
    request: Request,
    session: SessionDep,
    user: Viewer,
    broadcast_id: RowId,
    done: str = "",
    at: str = "",
):
    return _detail(request, session, broadcasts.find(session, broadcast_id), done=done, at=at)


def _detail(
    request: Request,
    session: Session,
    found: Broadcast,
    status_code: int = 200,
    **context: Any,
) -> Response:
    counts = broadcasts.counts(session, found)
    preview = None
    if found.status in ("draft", "scheduled"):
        try:
            when = _from_local(context.get("at") or "") or utcnow()
        except ValueError:
            when = utcnow()
        try:
            preview = broadcasts.preview(session, found, when)
            context["preview_when"] = when
        except SiyuError as error:
            context["preview_error"] = FieldError.of(error)
        context["at"] = _local_input(when)
    guides = group_sends.group_send_status(session, broadcasts.ORIGIN, found.id)
    variants = broadcasts.variants_of(session, found)
    return render(
        request,
        "reach_broadcast.html",
        status_code=status_code,
        b=found,
        counts=counts,
        preview=preview,
        guides=guides,
        laggards=[g["id"] for g in guides if g["status"] == "pending"],
        variants=variants,
        texts=_texts(session, variants),
        results=_results(found),
        status_labels=STATUS_LABELS,
        channel_labels=CHANNEL_LABELS,
        audience_labels=AUDIENCE_LABELS,
        segment_names=_segment_names(session),
        tag_how_labels=TAG_HOW_LABELS,
        purpose_labels=PURPOSE_LABELS,
        group_labels=GROUP_STATUS_LABELS,
        labels=PREVIEW_REASONS,
        send_at=_local_input(found.scheduled_at),
        **context,
    )


def _texts(session: Session, variants: list) -> dict[str, Any]:
    ids = [i for v in variants for i in v.contents.values()]
    rows = session.scalars(select(MessageContent).where(MessageContent.id.in_(ids))).all()
    by_id = {row.id: row for row in rows}
    return {v.key: [(channel, by_id.get(i)) for channel, i in v.contents.items()] for v in variants}


def _results(found: Broadcast) -> dict[str, Any] | None:
    """The results report (message_results) for a broadcast planned: per arm, and the lift."""
    if found.planned_at is None:
        return None
    start = found.planned_at.astimezone(_zone()).date()
    return arm_results("broadcast", found.id, start, found.window_days)


class SendForm(BaseModel):
    """Send a draft now, or at a time (the brand's zone)."""

    send_at: Text64 = ""


@router.post("/reach/broadcasts/{broadcast_id}/send")
def send_broadcast(
    request: Request,
    session: SessionDep,
    user: Manager,
    broadcast_id: RowId,
    form: Annotated[Submission[SendForm], posted(SendForm)],
):
    found = broadcasts.find(session, broadcast_id)
    try:
        at = _from_local(form.data.send_at) if form.data else None
    except ValueError:
        form.errors["send_at"] = _bad_time()
        return _detail(request, session, found, 400, sent=form)
    try:
        _send(session, found, at)
    except SiyuError as error:
        session.rollback()
        found = broadcasts.find(session, broadcast_id)
        return _detail(request, session, found, error.status, sent=form.refuse(error))
    done = "scheduled" if found.status == "scheduled" else "sent"
    return RedirectResponse(f"/reach/broadcasts/{found.id}?done={done}", status_code=303)


@router.post("/reach/broadcasts/{broadcast_id}/cancel")
def cancel_broadcast(request: Request, session: SessionDep, user: Manager, broadcast_id: RowId):
    found = broadcasts.find(session, broadcast_id)
    try:
        broadcasts.cancel(session, found)
        _cancel_shares(session, found)
    except SiyuError as error:
        session.rollback()
        found = broadcasts.find(session, broadcast_id)
        shown = {"action_error": error.template, "action_params": error.params}
        return _detail(request, session, found, error.status, **shown)
    return RedirectResponse(f"/reach/broadcasts/{found.id}?done=cancelled", status_code=303)


def wecom_connected(session: Session) -> bool:
    """Whether 群发 go through WeCom (the channel is live): then WeCom asks the guides."""
    row = session.get(Channel, "wecom")
    return row is not None and row.mode == "live"


def _cancel_shares(session: Session, found: Broadcast) -> None:
    """The guides' 群发 not confirmed yet are withdrawn in WeCom too (cancel_groupmsg_send);
    without WeCom, the guide's page stops offering them (their messages are cancelled)."""
    waiting = [
        g["id"]
        for g in group_sends.group_send_status(session, broadcasts.ORIGIN, found.id)
        if g["status"] == "pending"
    ]
    if waiting:
        try:
            group_sends.cancel(session, waiting)
        except Exception:  # WeCom refused or is unreachable: the guides' shares stay as they are
            log.warning("the 群发 of broadcast %s could not be withdrawn in WeCom", found.id)


@router.post("/reach/broadcasts/{broadcast_id}/remind")
def remind_guides(request: Request, session: SessionDep, user: Manager, broadcast_id: RowId):
    """Remind every guide who has not confirmed their share (WeCom's remind_groupmsg_send)."""
    found = broadcasts.find(session, broadcast_id)
    waiting = [
        g["id"]
        for g in group_sends.group_send_status(session, broadcasts.ORIGIN, found.id)
        if g["status"] == "pending"
    ]
    try:
        reminded = group_sends.remind(session, waiting)
    except Exception as problem:  # WeCom not connected, or it refused: say so on the page
        session.rollback()
        found = broadcasts.find(session, broadcast_id)
        return _detail(
            request,
            session,
            found,
            200,
            action_error=N_("WeCom could not be asked: %(why)s"),
            action_params={"why": str(problem)[:200]},
        )
    return RedirectResponse(
        f"/reach/broadcasts/{found.id}?done=reminded&n={len(reminded)}", status_code=303
    )
