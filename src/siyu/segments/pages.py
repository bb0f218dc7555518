"""Console pages for segments: the list, the rule builder with a live count, members, refresh."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from siyu.console.web import Allowed, render
from siyu.core.deps import SessionDep
from siyu.core.errors import InvalidInput, SiyuError
from siyu.core.i18n import N_
from siyu.segments import builder, service, stored
from siyu.segments import jobs as _jobs  # noqa: F401 - registers segments.refresh
from siyu.segments.models import SCHEDULES
from siyu.segments.rules import LIFECYCLE_STAGES, RFM_LAYERS
from siyu.tags.lifecycle import thresholds
from siyu.tags.service import all_tags

router = APIRouter(include_in_schema=False)
Reader = Allowed("segments.view")
Editor = Allowed("segments.edit")


@router.get("/segments/list")
def segment_list(request: Request, session: SessionDep, user: Reader) -> Response:
    found = stored.list_segments(session)
    latest = {s.id: stored.latest_refresh(session, s) for s in found}
    return render(request, "segment_list.html", segments=found, latest=latest)


@router.get("/segments/new")
def new_segment(request: Request, session: SessionDep, user: Editor) -> Response:
    return render(request, "segment_new.html", **_builder_context(session), form={}, error=None)


@router.post("/segments/new")
async def create_segment(request: Request, session: SessionDep, user: Editor) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    rule = builder.rule_from_form(form)
    try:
        if rule is None:
            raise InvalidInput(N_("choose at least one condition"), field="kind_0")
        segment = stored.create_segment(
            session, form.get("key", ""), form.get("name", ""), rule, form.get("schedule", "daily")
        )
        stored.request_refresh(session, segment)
    except SiyuError as error:
        session.rollback()
        context = _builder_context(session)
        return render(
            request, "segment_new.html", status_code=400, form=form, error=error, **context
        )
    return RedirectResponse(f"/segments/{segment.key}", status_code=303)


@router.post("/segments/preview")
async def preview(request: Request, session: SessionDep, user: Reader) -> Response:
    """The count and a sample for the rows as they stand (htmx, on every change)."""
    form = {k: str(v) for k, v in (await request.form()).items()}
    rule = builder.rule_from_form(form)
    result, error = None, None
    if rule is not None:
        try:
            result = service.preview(
                rule, resolve=stored.resolver(session), thresholds=thresholds(session)
            )
        except SiyuError as failed:
            error = failed
    return render(request, "segment_preview.html", rule=rule, result=result, error=error)


@router.get("/segments/{key}")
def segment_page(key: str, request: Request, session: SessionDep, user: Reader) -> Response:
    segment = stored.find_segment(session, key)
    return render(
        request,
        "segment_detail.html",
        segment=segment,
        rule_text=json.dumps(segment.rule, ensure_ascii=False, indent=2),
        run=stored.latest_refresh(session, segment),
        members=stored.current_members(session, segment, limit=20),
        changes=stored.changes(session, segment),
    )


@router.post("/segments/{key}/refresh")
def refresh(key: str, session: SessionDep, user: Editor) -> Response:
    segment = stored.find_segment(session, key)
    stored.request_refresh(session, segment)
    return RedirectResponse(f"/segments/{key}", status_code=303)


@router.get("/segments/{key}/progress")
def progress(key: str, request: Request, session: SessionDep, user: Reader) -> Response:
    segment = stored.find_segment(session, key)
    run = stored.latest_refresh(session, segment)
    return render(request, "segment_progress.html", segment=segment, run=run)


@router.get("/segments/{key}/export.csv")
def export(key: str, session: SessionDep, user: Reader) -> Response:
    segment = stored.find_segment(session, key)
    body = list(stored.export_csv(session, segment))
    return StreamingResponse(
        iter(body),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="segment-{segment.key}.csv"'},
    )


def _builder_context(session) -> dict:
    return {
        "rows": builder.ROWS,
        "kinds": builder.KINDS,
        "count_ops": builder.COUNT_OPS,
        "attribute_ops": builder.ATTRIBUTE_OPS,
        "events": builder.COMMON_EVENTS,
        "tags": all_tags(session),
        "stages": LIFECYCLE_STAGES,
        "stage_labels": builder.STAGE_LABELS,
        "layers": RFM_LAYERS,
        "segments": stored.list_segments(session),
        "schedules": SCHEDULES,
    }
