"""Management API for reports: POST a report's query as JSON, get its result."""

from fastapi import APIRouter

from siyu.analytics import runner
from siyu.analytics.registry import REPORTS
from siyu.core.deps import TokenAllowed

router = APIRouter(prefix="/api/reports", tags=["reports"])
Reader = TokenAllowed("reports.view")


def _route(kind: str, module) -> None:
    def answer(query: module.Query, token: Reader) -> module.Result:
        return runner.run(module, query).result

    router.add_api_route(
        f"/{kind}",
        answer,
        methods=["POST"],
        response_model=module.Result,
        summary=(module.__doc__ or kind).splitlines()[0],
        name=f"report_{kind}",
    )


for _kind, _module in REPORTS.items():
    _route(_kind, _module)
