"""Console pages for segments: the list, the rule builder with a live count, members, refresh."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.console.pages import segment_builder as builder
from siyu.console.web import allowed, gettext, mask_phone, render, request_locale
from siyu.core import csvsafe
from siyu.core.db import unit_of_work
from siyu.core.deps import FormDep, SessionDep, read_ended
from siyu.core.errors import InvalidInput, SiyuError
from siyu.core.forms import Submission, one_of, posted
from siyu.core.i18n import N_
from siyu.core.lake_queries import run_lake_query
from siyu.core.limits import Text, Text64, Text200
from siyu.core.settings import get_settings
from siyu.events import catalogue
from siyu.profiles.search import Viewer
from siyu.segments import evaluation
from siyu.segments import service as segments
from siyu.segments.models import SCHEDULES, Segment
from siyu.segments.rules import LIFECYCLE_STAGES, RFM_LAYERS, Named, named_in, parse_rule
from siyu.segments.service import MAX_DESCRIPTION
from siyu.settings import labels
from siyu.staff import service as staff
from siyu.staff.models import Staff, Store
from siyu.tags import service as tags
from siyu.tags.models import Tag
from siyu.touchpoints import service as touchpoints
from siyu.touchpoints.labels import GROUP_LABELS
from siyu.touchpoints.models import GROUPS, Touchpoint
from siyu.users.models import User

router = APIRouter(include_in_schema=False)
MEMBERS_SHOWN = 20
SAMPLE_SHOWN = 10  # of the preview's sample
EXPORT_HEADERS = (
    N_("Customer ID"),
    N_("User ID"),
    N_("Customer name"),
    N_("Phone"),
    N_("Guide"),
    N_("Entered (%(zone)s)"),
)
Reader = Annotated[User, allowed("segments.view")]
# For the preview, which waits on the lake: the check's read ends before it.
Previewer = Annotated[User, read_ended(allowed("segments.view"))]
Editor = Annotated[User, allowed("segments.edit")]


async def _fields(form: FormDep) -> dict[str, str]:
    return {k: str(v) for k, v in form.items()}


Fields = Annotated[dict[str, str], Depends(_fields)]
Description = Annotated[Text, StringConstraints(max_length=MAX_DESCRIPTION)]


class SegmentFields(BaseModel):
    """The builder's fields beside its rule (read from its rows or JSON by the builder)."""

    name: Annotated[Text200, StringConstraints(strip_whitespace=True, min_length=1)]
    schedule: Annotated[str, one_of(SCHEDULES)] = "daily"
    description: Description = ""


class NewSegment(SegmentFields):
    """The new-segment form: the fields and the key other rules will name it by."""

    key: Text64


@router.get("/segments/list")
def segment_list(request: Request, session: SessionDep, user: Reader) -> Response:
    found = segments.list_segments(session)
    latest = {s.id: segments.latest_refresh(session, s) for s in found}
    return render(request, "segment_list.html", segments=found, latest=latest)


@router.get("/segments/new")
def new_segment(request: Request, session: SessionDep, user: Editor) -> Response:
    return _builder_page(request, session, None, {})


@router.post("/segments/new")
def create_segment(
    request: Request,
    session: SessionDep,
    user: Editor,
    form: Annotated[Submission[NewSegment], posted(NewSegment)],
) -> Response:
    rule = _read_rule(form)
    if form.data is None or form.errors:
        return _builder_page(request, session, None, form)
    try:
        segment = segments.create_segment(
            session,
            form.data.key,
            form.data.name,
            _required(rule),
            form.data.schedule,
            description=form.data.description,
        )
        segments.request_refresh(session, segment)
    except SiyuError as error:
        session.rollback()
        return _builder_page(request, session, None, form, error)
    return RedirectResponse(f"/segments/{segment.key}", status_code=303)


@router.get("/segments/{key}/edit")
def edit_segment(key: str, request: Request, session: SessionDep, user: Editor) -> Response:
    """The builder, filled in with the segment as it is (as JSON when its rows cannot say it)."""
    segment = segments.find_segment(session, key)
    form = builder.form_from_rule(segment.rule)
    if form is None:
        form = {"mode": "json", "rule_json": json.dumps(segment.rule, ensure_ascii=False, indent=2)}
    form.update(name=segment.name, schedule=segment.schedule, description=segment.description)
    return _builder_page(request, session, segment, form)


@router.post("/segments/{key}/edit")
def save_segment(
    key: str,
    request: Request,
    session: SessionDep,
    user: Editor,
    form: Annotated[Submission[SegmentFields], posted(SegmentFields)],
) -> Response:
    """Change the name, description, schedule and rule (the key stays), then refresh."""
    segment = segments.find_segment(session, key)
    rule = _read_rule(form)
    if form.data is None or form.errors:
        return _builder_page(request, session, segment, form)
    try:
        segments.update_segment(
            session,
            key,
            name=form.data.name,
            rule=_required(rule),
            schedule=form.data.schedule,
            description=form.data.description,
        )
        segments.refresh_changed(session, segment)
    except SiyuError as error:
        session.rollback()
        return _builder_page(request, session, segments.find_segment(session, key), form, error)
    return RedirectResponse(f"/segments/{key}", status_code=303)


@router.post("/segments/preview")
async def preview(request: Request, user: Previewer, form: Fields) -> Response:
    """The count and a sample for the rows as they stand (htmx, on every change), with a
    warning for each event, tag, touchpoint, store or guide the rule names that does not exist.
    A costly rule may query the lake until the preview's time limit: it runs in a lake-query
    thread, holding no database connection and none of the threads plain `def` routes run in."""
    result, error, warnings, names = None, None, [], {}
    rule, problems = builder.read_rule(form)
    try:
        if rule is not None:
            editing = form.get("editing") or None  # a reference back to it shows as a cycle
            inputs = await run_in_threadpool(_preview_inputs, rule, editing)
            rules, limits, named, missing = inputs
            unknown = [e for e in named.events if e not in catalogue.KNOWN]
            result, recorded = await run_lake_query(
                partial(_count, rule, rules, editing, limits, unknown)
            )
            missing += [("event", e) for e in unknown if e not in recorded]
            warnings = missing
            shown = [m.customer_id for m in result.sample[:SAMPLE_SHOWN]]
            names = await run_in_threadpool(_names, shown) if shown else {}
    except SiyuError as failed:
        error = failed
    return render(
        request,
        "segment_preview.html",
        rule=rule,
        result=result,
        error=error,
        warnings=warnings,
        names=names,
        shown=SAMPLE_SHOWN,
        row=_row(form, error),
        problems=[(builder.row_of_field(name), problem) for name, problem in problems.items()],
    )


def _preview_inputs(rule: Any, editing: str | None) -> tuple[dict, Any, Named, list]:
    """What a preview reads from the database, in short transactions of its own: the stored
    rules, the lifecycle days, and what the rule names that does not exist (kind, name)."""
    rules, limits = segments.preview_inputs()
    named = named_in(parse_rule(rule, rules.get, editing))
    with unit_of_work() as session:
        return rules, limits, named, _missing(session, named)


def _names(customer_ids: list[int]) -> dict[int, str]:
    with unit_of_work() as session:
        return segments.names_of(session, customer_ids)


def _missing(session: Session, named: Named) -> list[tuple[str, Any]]:
    """(kind, name) of each thing the rule names that does not exist: one query per kind."""

    def absent(kind: str, column: Any, wanted: list) -> list[tuple[str, Any]]:
        found = set(session.scalars(select(column).where(column.in_(wanted)))) if wanted else set()
        return [(kind, name) for name in wanted if name not in found]

    return (
        absent("tag", Tag.name, named.tags)
        + absent("touchpoint", Touchpoint.code, named.touchpoints)
        + absent("store", Store.id, named.stores)
        + absent("owner", Staff.id, named.owners)
    )


def _count(
    rule: Any, rules: dict, editing: str | None, limits: Any, unknown: list[str]
) -> tuple[evaluation.Preview, set[str]]:
    counted = evaluation.preview(rule, resolve=rules.get, key=editing, thresholds=limits)
    return counted, evaluation.recorded_events(unknown)


@router.get("/segments/{key}")
def segment_page(key: str, request: Request, session: SessionDep, user: Reader) -> Response:
    segment = segments.find_segment(session, key)
    members = next(segments.member_rows(session, segment, limit=MEMBERS_SHOWN), [])
    viewer = Viewer(role=user.role, staff_id=user.staff_id)
    return render(
        request,
        "segment_detail.html",
        segment=segment,
        rule_text=json.dumps(segment.rule, ensure_ascii=False, indent=2),
        run=segments.latest_refresh(session, segment),
        members=members,
        hidden={m.customer_id for m in members if not viewer.may_see_phone(m.owner_id)},
        guides={g.id: g.name for g in staff.list_staff(session)},
        changes=segments.changes(session, segment),
    )


@router.post("/segments/{key}/refresh")
def refresh(key: str, session: SessionDep, user: Editor) -> Response:
    segment = segments.find_segment(session, key)
    segments.request_refresh(session, segment)
    return RedirectResponse(f"/segments/{key}", status_code=303)


@router.get("/segments/{key}/progress")
def progress(key: str, request: Request, session: SessionDep, user: Reader) -> Response:
    segment = segments.find_segment(session, key)
    run = segments.latest_refresh(session, segment)
    answer = render(request, "segment_progress.html", segment=segment, run=run)
    if request.headers.get("HX-Request") and run and run.status not in ("queued", "running"):
        # The poll that sees the refresh end reloads the page: members and counts are new.
        answer.headers["HX-Refresh"] = "true"
    return answer


@router.get("/segments/{key}/export.csv")
def export(key: str, request: Request, session: SessionDep, user: Reader) -> Response:
    """The members as people read them: headers in the console's language, times in the
    brand's zone, phones as this user may see them (a guide: only their own customers')."""
    segment = segments.find_segment(session, key)
    say = gettext(request_locale(request, user))
    zone = get_settings().zone
    viewer = Viewer(role=user.role, staff_id=user.staff_id)
    guides = {g.id: g.name for g in staff.list_staff(session)}
    header = [say(label) for label in EXPORT_HEADERS[:-1]]
    header.append(say(EXPORT_HEADERS[-1]) % {"zone": zone.key})
    body = ["\ufeff" + _csv_text([header])]  # the byte-order mark: Excel then reads UTF-8
    for chunk in segments.member_rows(session, segment):
        rows = [
            [
                m.customer_id,
                m.user_id,
                m.name,
                m.phone if viewer.may_see_phone(m.owner_id) else mask_phone(m.phone),
                guides.get(m.owner_id, "") if m.owner_id else "",
                m.entered_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
            ]
            for m in chunk
        ]
        body.append(_csv_text(rows))
    return StreamingResponse(
        iter(body),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="segment-{segment.key}.csv"'},
    )


def _csv_text(rows: list[list]) -> str:
    buffer = io.StringIO()
    csvsafe.writer(buffer).writerows(rows)
    return buffer.getvalue()


def _read_rule(form: Submission) -> Any:
    """The rule the posted builder holds; its fields' errors join the form's."""
    rule, problems = builder.read_rule(form.values)
    form.errors.update(problems)
    return rule


def _required(rule: Any) -> Any:
    if rule is None:
        raise InvalidInput(N_("choose at least one condition"), field="kind_0")
    return rule


def _row(form: Mapping[str, str], error: SiyuError | None) -> int | None:
    """The builder row a rule error points into, so the page can say which condition is wrong."""
    return builder.row_of(form, error.field) if error is not None and error.field else None


def _builder_page(
    request: Request,
    session: Session,
    segment: Segment | None,
    form: Submission | dict[str, str],
    error: SiyuError | None = None,
) -> Response:
    """The builder: a new segment, or `segment` being edited (its key is kept); a posted form
    comes back with its values, its fields' errors beside them and a rule's error above."""
    sent, values = (form, form.values) if isinstance(form, Submission) else (None, form)
    return render(
        request,
        "segment_new.html",
        status_code=400 if error or (sent and sent.errors) else 200,
        editing=segment,
        form=values,
        sent=sent,
        error=error,
        row=_row(values, error),
        bad_rows=builder.rows_in_error(sent.errors) if sent else set(),
        **_builder_context(session, segment, request_locale(request, request.state.user)),
    )


def _traits(session: Session, locale: str) -> list[tuple[str, str]]:
    """The profile attributes offered (typed names still work): the trait dictionary's, then
    those the latest customers carry that nobody has named, each by its display name."""
    named = [e for e in labels.entries(session) if not e.value]
    offered = [(e.trait, e.label.shown(locale)) for e in named]
    return offered + [(t, t) for t in labels.unnamed_traits(session, sample=200)]


def _builder_context(session: Session, editing: Segment | None, locale: str) -> dict:
    """What the rows offer: every choice by the name people know it by (its code, id or
    event name is the option's value)."""
    return {
        "rows": builder.ROWS,
        "kinds": builder.KINDS,
        "count_ops": builder.COUNT_OPS,
        "attribute_ops": builder.ATTRIBUTE_OPS,
        "events": [(e, catalogue.display_name(e, locale)) for e in catalogue.KNOWN],
        "tags": [(t.name, t.name) for t in tags.all_tags(session)],
        "touchpoint_groups": [(builder.GROUP + g, GROUP_LABELS[g]) for g in GROUPS],
        "touchpoints": [(t.code, t.name or t.code) for t in touchpoints.list_touchpoints(session)],
        "traits": _traits(session, locale),
        "stores": [(str(s.id), s.name) for s in staff.list_stores(session)],
        "owners": [(str(g.id), g.name) for g in staff.list_staff(session)],
        "stages": LIFECYCLE_STAGES,
        "stage_labels": builder.STAGE_LABELS,
        "layers": RFM_LAYERS,
        # A segment cannot contain itself, so the one being edited is not offered.
        "segments": [(s.key, s.name) for s in segments.list_segments(session) if s is not editing],
        "schedules": SCHEDULES,
    }
