"""The FastAPI app factory: mounts each domain's router; `serve` adds the background workers."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from siyu import __version__
from siyu.console import home
from siyu.core.errors import SiyuError
from siyu.customers import api as customers_api
from siyu.events import api as tracking_api


def create_app(background: bool = False) -> FastAPI:
    """The whole HTTP surface; with `background`, the shipper and a job worker run alongside."""

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        threads = _start_background() if background else []
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
    async def domain_error(_: Request, error: SiyuError) -> JSONResponse:
        return JSONResponse({"success": False, "error": error.to_dict()}, status_code=error.status)

    app.include_router(tracking_api.router)
    app.include_router(customers_api.router)
    app.include_router(home.router)
    return app


def _start_background() -> list:
    from siyu.core.jobs import Worker
    from siyu.events.shipper import Shipper

    threads = [Shipper(), Worker()]
    for thread in threads:
        thread.start()
    return threads
