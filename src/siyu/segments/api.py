"""Management API for segments: define, preview, refresh, list members, export."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from siyu.core.auth import ApiToken
from siyu.core.deps import SessionDep, read_ended, token_allowed
from siyu.core.lake_queries import run_lake_query
from siyu.core.limits import Cursor
from siyu.segments import evaluation, service
from siyu.segments.schemas import (
    RefreshOut,
    RuleIn,
    SegmentChange,
    SegmentIn,
    SegmentOut,
    refresh_out,
    segment_out,
)

router = APIRouter(prefix="/api/segments", tags=["segments"])
Reader = Annotated[ApiToken, token_allowed("segments.view")]
# For the preview, which waits on the lake: the check's read ends before it.
Previewer = Annotated[ApiToken, read_ended(token_allowed("segments.view"))]
Editor = Annotated[ApiToken, token_allowed("segments.edit")]


@router.get("", summary="Every stored segment")
def list_all(session: SessionDep, token: Reader) -> list[SegmentOut]:
    return [segment_out(s) for s in service.list_segments(session)]


@router.post("", summary="Store a segment (its members come with its first refresh)")
def create(body: SegmentIn, session: SessionDep, token: Editor) -> SegmentOut:
    segment = service.create_segment(
        session,
        body.key,
        body.name,
        body.rule,
        body.schedule,
        f"token:{token.name}",
        description=body.description,
    )
    service.request_refresh(session, segment, requested_by=f"token:{token.name}")
    return segment_out(segment)


@router.post("/preview", summary="Count and a sample for a rule, without storing it")
async def preview(body: RuleIn, token: Previewer) -> dict:
    # The lake query (up to the preview's time limit) runs in a lake-query thread, holding no
    # database connection and none of the threads plain `def` routes run in.
    as_of = evaluation.parse_as_of(body.as_of)
    rules, limits = await run_in_threadpool(service.preview_inputs)
    work = partial(evaluation.preview, body.rule, as_of=as_of, resolve=rules.get, thresholds=limits)
    return (await run_lake_query(work)).model_dump()


@router.get("/{key}", summary="One segment")
def show(key: str, session: SessionDep, token: Reader) -> SegmentOut:
    return segment_out(service.find_segment(session, key))


@router.put(
    "/{key}",
    summary="Change a segment's name, rule or schedule (the key stays); a new rule is refreshed",
)
def change(key: str, body: SegmentChange, session: SessionDep, token: Editor) -> SegmentOut:
    segment = service.update_segment(
        session,
        key,
        name=body.name,
        rule=body.rule,
        schedule=body.schedule,
        description=body.description,
    )
    if body.rule is not None:
        service.refresh_changed(session, segment, requested_by=f"token:{token.name}")
    return segment_out(segment)


@router.delete("/{key}", summary="Delete a segment and its membership history")
def remove(key: str, session: SessionDep, token: Editor) -> dict:
    service.delete_segment(session, key)
    return {"deleted": key}


@router.post("/{key}/refresh", summary="Refresh the members (a job; poll the refresh)")
def refresh(key: str, session: SessionDep, token: Editor) -> RefreshOut:
    segment = service.find_segment(session, key)
    return refresh_out(
        service.request_refresh(session, segment, requested_by=f"token:{token.name}")
    )


@router.get("/{key}/refresh", summary="The latest refresh and its progress")
def latest(key: str, session: SessionDep, token: Reader) -> RefreshOut | None:
    run = service.latest_refresh(session, service.find_segment(session, key))
    return refresh_out(run) if run else None


@router.get("/{key}/members", summary="Current members by customer id (page with `after`)")
def members(
    key: str, session: SessionDep, token: Reader, after: Cursor | None = None, limit: int = 100
) -> dict:
    segment = service.find_segment(session, key)
    limit = min(max(limit, 1), 1000)
    rows = service.current_members(session, segment, after, limit)
    items = [{"customer_id": m.customer_id, "entered_at": m.entered_at} for m in rows]
    next_after = rows[-1].customer_id if len(rows) == limit else None
    return {"members": items, "next_after": next_after}


@router.get("/{key}/export.csv", summary="Current members as CSV")
def export(key: str, session: SessionDep, token: Reader) -> StreamingResponse:
    segment = service.find_segment(session, key)
    body = list(service.export_csv(session, segment))  # read before the session closes
    return StreamingResponse(
        iter(body),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="segment-{segment.key}.csv"'},
    )
