"""Management API for reports: POST a report's query as JSON, get its result."""

from typing import Annotated

from fastapi import APIRouter, Query

from siyu.analytics import runner
from siyu.analytics.base import ReportQuery
from siyu.analytics.registry import REPORTS
from siyu.core.auth import ApiToken
from siyu.core.deps import SessionDep, token_allowed
from siyu.segments import service as segments

router = APIRouter(prefix="/api/reports", tags=["reports"])
Reader = Annotated[ApiToken, token_allowed("reports.view")]
SEGMENT = Query(
    None, description="A saved segment's key: only its members count (sets filters.segment)."
)


def _route(kind: str, module) -> None:
    def answer(
        query: module.Query, token: Reader, session: SessionDep, segment: str | None = SEGMENT
    ) -> module.Result:
        if segment:
            query = with_segment(query, segments.report_filter(session, segment))
        return runner.run(module, query).result

    router.add_api_route(
        f"/{kind}",
        answer,
        methods=["POST"],
        response_model=module.Result,
        summary=(module.__doc__ or kind).splitlines()[0],
        name=f"report_{kind}",
    )


def with_segment(query: ReportQuery, found: dict) -> ReportQuery:
    """The query with its segment filter set to a saved segment's (segments.report_filter)."""
    filters = query.filters.model_validate({**query.filters.model_dump(), **found})
    return query.model_copy(update={"filters": filters})


for _kind, _module in REPORTS.items():
    _route(_kind, _module)
