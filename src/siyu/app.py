"""The FastAPI app factory: mounts each domain's router; `serve` adds the background workers."""

from __future__ import annotations

import gc
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

import siyu.models  # noqa: F401 - every domain's tables, known before the first query
from siyu import __version__
from siyu.analytics import api as reports_api
from siyu.broadcasts import api as broadcasts_api
from siyu.codes import landing as code_landing
from siyu.console import auth as console_auth
from siyu.console import home, sections
from siyu.console.edge import Edge
from siyu.console.pages import analytics as report_pages
from siyu.console.pages import codes as code_pages
from siyu.console.pages import customers as customer_pages
from siyu.console.pages import imports as import_pages
from siyu.console.pages import journeys as journey_pages
from siyu.console.pages import promotions as promotion_pages
from siyu.console.pages import promotions_members as member_pages
from siyu.console.pages import reach as reach_pages
from siyu.console.pages import reach_channels as reach_channel_pages
from siyu.console.pages import reach_consent as reach_consent_pages
from siyu.console.pages import reach_guide as reach_guide_pages
from siyu.console.pages import segments as segment_pages
from siyu.console.pages import settings as settings_pages
from siyu.console.pages import staff as staff_pages
from siyu.console.pages import tags as tag_pages
from siyu.console.pages import tasks as task_pages
from siyu.console.pages import touchpoints as touchpoint_pages
from siyu.console.pages import wecom as wecom_pages
from siyu.console.pages import workbench as workbench_pages
from siyu.console.web import LoginRequired, render
from siyu.core import limits
from siyu.core.access_log import AccessLog
from siyu.core.errors import InvalidInput, SiyuError
from siyu.customers import api as customers_api
from siyu.events import api as tracking_api
from siyu.journeys import api as journeys_api
from siyu.messaging import api as messaging_api
from siyu.messaging import inbound as sms_inbound
from siyu.profiles import api as profiles_api
from siyu.promotions import coupons_api, group_buys_api, h5, members_api, tiered_api
from siyu.promotions import flash_api as flash_sales_api
from siyu.segments import api as segments_api
from siyu.staff import api as staff_api
from siyu.subscribers import wire as wire_subscribers
from siyu.tasks import api as tasks_api
from siyu.wechat import api as wechat_api
from siyu.wecom import api as wecom_api

# Console pages, one router per domain; management API routers under /api.
PAGES = (
    console_auth,
    home,
    customer_pages,
    touchpoint_pages,
    code_pages,
    staff_pages,
    task_pages,
    import_pages,
    settings_pages,
    report_pages,
    wecom_pages,
    workbench_pages,
    tag_pages,
    segment_pages,
    reach_pages,
    reach_channel_pages,
    reach_consent_pages,
    reach_guide_pages,
    journey_pages,
    promotion_pages,
    member_pages,
    sections,
)
APIS = (
    customers_api,
    profiles_api,
    code_landing,
    segments_api,
    staff_api,
    tasks_api,
    broadcasts_api,
    journeys_api,
    wecom_api,
    wechat_api,
    reports_api,
    sms_inbound,
    messaging_api,
    coupons_api,
    flash_sales_api,
    group_buys_api,
    tiered_api,
    h5,
    members_api,
)


def create_app(background: bool = False) -> FastAPI:
    """The whole HTTP surface; with `background`, the shipper and a job worker run alongside."""
    wire_subscribers()

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        threads = _start_background() if background else []
        if background:
            _tune_gc()
        yield
        for thread in threads:
            thread.stop()
        for thread in threads:
            thread.join(timeout=10)

    app = FastAPI(
        title="Siyu",
        version=__version__,
        lifespan=lifespan,
        description="私域 Siyu: tracking API (Segment spec) and management API.",
    )

    @app.exception_handler(SiyuError)
    async def domain_error(request: Request, error: SiyuError):
        if _is_machine(request):
            return JSONResponse(error.answer(), status_code=error.status)
        return render(request, "error.html", status_code=error.status, error=error)

    async def out_of_bounds(request: Request, error: Exception):
        return await domain_error(request, limits.as_invalid(error))

    for kind in limits.INPUT_ERRORS:
        app.add_exception_handler(kind, out_of_bounds)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException):
        if error.status_code == 400 and error.detail == "There was an error parsing the body":
            # FastAPI's answer to a body json cannot read (not UTF-8, nested too deep).
            return await domain_error(request, InvalidInput("the body is not JSON", field="body"))
        return await http_exception_handler(request, error)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, error: LoginRequired):
        if request.headers.get("hx-request"):
            return JSONResponse(
                {"redirect": "/login"},
                status_code=401,
                headers={"HX-Redirect": f"/login?next={error.next_url}"},
            )
        return RedirectResponse(f"/login?next={error.next_url}", status_code=303)

    app.add_middleware(limits.RefuseNul)
    # A body is limited before any route runs, and every answer is secured.
    app.add_middleware(Edge)
    # Outermost: every answer, a 413 from the edge too, is logged with its request id.
    app.add_middleware(AccessLog)
    static = Path(__file__).parent / "console" / "static"
    app.mount("/static", StaticFiles(directory=static), name="static")
    app.include_router(tracking_api.router)
    app.include_router(messaging_api.public)  # the links in messages: /l/{code}, /u/{token}
    for module in APIS + PAGES:
        app.include_router(module.router)
    return app


def _is_machine(request: Request) -> bool:
    path = request.url.path
    return path.startswith(
        ("/v1/", "/api/", "/wecom/", "/wechat/", "/sms/")
    ) or "application/json" in request.headers.get("accept", "")


def _tune_gc() -> None:
    """For a long-running server: what startup built stays for good, so full collections stop
    walking it; and young collections run a tenth as often. A tracking request makes thousands
    of short-lived objects, and the default thresholds made collecting them ~10% of its time."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(7000, 10, 10)


def _start_background() -> list:
    from siyu.events.inbox import Processor
    from siyu.events.shipper import Shipper
    from siyu.work import worker

    threads = [Processor(), Shipper(), worker()]
    for thread in threads:
        thread.start()
    return threads
