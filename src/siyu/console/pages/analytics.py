"""Console pages for reports (报表): filters, ECharts charts, the table and its CSV."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.analytics import runner
from siyu.analytics.present import Names, charts_of, csv_of, notes_of, summary_of, table_of
from siyu.analytics.registry import REPORTS, SUMMARIES, TITLES
from siyu.console.web import N_, allowed, render, request_locale
from siyu.core.deps import SessionDep
from siyu.core.errors import SiyuError
from siyu.core.limits import is_whole_number, parse_day
from siyu.core.settings import get_settings
from siyu.segments import service as segments
from siyu.staff.models import Staff, Store
from siyu.touchpoints.labels import GROUP_LABELS
from siyu.touchpoints.models import GROUPS, Touchpoint
from siyu.users.models import User

router = APIRouter(include_in_schema=False)
Viewer = Annotated[User, allowed("reports.view")]
LIST_FILTERS = ("touchpoint", "touchpoint_type", "store", "guide")
FILTER_LABELS = {
    "touchpoint": N_("Touchpoint"),
    "touchpoint_type": N_("Touchpoint type"),
    "store": N_("Store"),
    "guide": N_("Guide"),
}


@router.get("/reports", response_class=HTMLResponse)
def reports_index(request: Request, user: Viewer):
    return render(
        request, "reports_index.html", reports=REPORTS, titles=TITLES, summaries=SUMMARIES
    )


def form_query(module, params: dict[str, str]) -> dict[str, Any]:
    """A report's query from the page's query string; unreadable dates fall back to defaults
    (the brand's last 30 days, ending today in its time zone)."""
    today = datetime.now(get_settings().zone).date()
    end = _date(params.get("end")) or today
    start = _date(params.get("start")) or end - timedelta(days=29)
    if start > end:
        start = end
    filters = {}
    for name in LIST_FILTERS:
        value = params.get(name)
        if value:
            filters[name] = (
                [int(value)] if name in ("store", "guide") and is_whole_number(value) else [value]
            )
    query = module.form_query(params, start, end)
    query["filters"] = {k: v for k, v in filters.items() if k in module.FILTERS}
    return query


def _date(text: str | None) -> date | None:
    return parse_day(text)


def _choices(session: Session) -> dict[str, list[tuple[str, str]]]:
    """What the filter menus offer, from the registry and the saved segments (人群包)."""
    points = session.execute(select(Touchpoint.code, Touchpoint.name).order_by(Touchpoint.code))
    stores = session.execute(select(Store.id, Store.name).order_by(Store.name))
    guides = session.execute(select(Staff.id, Staff.name).order_by(Staff.name))
    return {
        "touchpoint": [(code, f"{name} ({code})") for code, name in points],
        "touchpoint_type": [(group, GROUP_LABELS[group]) for group in GROUPS],
        "store": [(str(i), name) for i, name in stores],
        "guide": [(str(i), name) for i, name in guides],
        "segment": [(s.key, s.name) for s in segments.list_segments(session)],
    }


def _names(session: Session) -> Names:
    """The names a report's rows show for the keys its lake query returns (and stores' codes,
    shown on hover)."""
    stores = session.execute(select(Store.id, Store.name, Store.code)).all()
    return {
        "touchpoint": {
            code: name for code, name in session.execute(select(Touchpoint.code, Touchpoint.name))
        },
        "store": {str(i): name for i, name, _code in stores},
        "store_code": {str(i): code for i, _name, code in stores},
        "guide": {str(i): name for i, name in session.execute(select(Staff.id, Staff.name))},
    }


def _run(kind: str, request: Request, session: Session):
    module = REPORTS[kind]
    params = dict(request.query_params)
    query = form_query(module, params)
    try:
        if params.get("segment"):
            query["filters"].update(segments.report_filter(session, params["segment"]))
        return module, query, runner.run(module, module.Query.model_validate(query)), None
    except ValidationError as error:
        return module, query, None, error.errors()[0]["msg"]
    except SiyuError as error:
        return module, query, None, error.message


def _page(kind: str):
    def page(request: Request, session: SessionDep, user: Viewer):
        module, query, done, problem = _run(kind, request, session)
        locale = request_locale(request, user)
        choices = _choices(session)
        names = _names(session)
        headers, rows = table_of(module, done.result, locale, names) if done else ([], [])
        return render(
            request,
            "report.html",
            kind=kind,
            title=TITLES[kind],
            summary=SUMMARIES[kind],
            params=dict(request.query_params),
            query=query,
            fields=module.FIELDS,
            filters=[name for name in LIST_FILTERS if name in module.FILTERS],
            filter_labels=FILTER_LABELS,
            choices=choices,
            charts=charts_of(module, done.result, locale, names) if done else [],
            summary_rows=summary_of(module, done.result, locale) if done else [],
            notes=notes_of(module, done.result, locale) if done else [],
            headers=headers,
            rows=rows,
            problem=problem,
            seconds=done.seconds if done else None,
            engine=done.engine if done else get_settings().engine,
            zone=get_settings().timezone,
            csv_query=request.url.query,
        )

    return page


def _download(kind: str):
    def download(request: Request, session: SessionDep, user: Viewer):
        module, query, done, problem = _run(kind, request, session)
        if done is None:
            return Response(problem or "", status_code=400)
        names = _names(session)
        return Response(
            csv_of(module, done.result, request_locale(request, user), names),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{kind}.csv"'},
        )

    return download


for _kind in REPORTS:
    router.add_api_route(f"/reports/{_kind}", _page(_kind), response_class=HTMLResponse)
    router.add_api_route(f"/reports/{_kind}.csv", _download(_kind))
