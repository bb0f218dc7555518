"""The QR landing `/q/{code}`: count the scan, send the phone on to the code's target.

A scan must answer in milliseconds: the code is looked up from a short in-process cache, the
guide a WeCom contact way routes to is remembered for a few seconds per code, and the
`QR Code Scanned` event is only stored in the tracking inbox (the processor applies it), as the
tracking API stores a single call: one insert and commit on the event loop. The request answers
once its scan is committed. Nothing else happens inside the request.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from html import escape

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.codes.models import ChannelCode
from siyu.codes.service import routing_of
from siyu.core.db import session_factory, unit_of_work, utcnow, write_lock
from siyu.core.settings import get_settings
from siyu.events.inbox import Received, check_all, receive_on_loop
from siyu.events.service import SourceRef
from siyu.events.sources import internal_source
from siyu.staff.routing import route_contact
from siyu.touchpoints.models import Touchpoint

router = APIRouter(include_in_schema=False)
SOURCE = "qr-landing"
VISITOR_COOKIE = "siyu_aid"
CODE_TTL = 10.0  # seconds a code's target is cached (a changed target shows within 10 s)
ROUTE_TTL = 5.0  # seconds a code's routed guide is reused
SOURCE_TTL = 3600.0  # seconds the landing's source row is remembered
log = logging.getLogger("siyu.landing")


@dataclass(frozen=True)
class Landing:
    id: int
    code: str
    touchpoint: str
    kind: str
    target_kind: str
    target: str
    store_id: int | None


class _Cache:
    def __init__(self) -> None:
        self.values: dict[str, tuple[float, object]] = {}
        self.lock = threading.Lock()

    def get(self, key: str, ttl: float, load):
        now = time.monotonic()
        hit = self.values.get(key)
        if hit is not None and now - hit[0] < ttl:
            return hit[1]
        value = load()
        if value is not None:  # a code created a moment later must not wait for the TTL
            with self.lock:
                self.values[key] = (now, value)
        return value

    def peek(self, key: str, ttl: float):
        """The cached value if fresh, else None (never loads)."""
        hit = self.values.get(key)
        if hit is not None and time.monotonic() - hit[0] < ttl:
            return hit[1]
        return None

    def clear(self) -> None:
        with self.lock:
            self.values.clear()


_codes, _routes, _sources = _Cache(), _Cache(), _Cache()
# Message ids: random per process, counted within it (one random draw per process, not per scan).
_RUN, _serial = uuid.uuid4().hex, itertools.count(1)


def forget_cached() -> None:
    """Drop cached codes, routes and the source (tests, and after a code changes)."""
    for cache in (_codes, _routes, _sources):
        cache.clear()


def _landing(session: Session, code: str) -> Landing | None:
    row = session.execute(
        select(ChannelCode, Touchpoint.code)
        .join(Touchpoint, Touchpoint.id == ChannelCode.touchpoint_id)
        .where(ChannelCode.code == code, ChannelCode.is_active)
    ).first()
    if row is None:
        return None
    channel, touchpoint = row
    return Landing(
        channel.id,
        channel.code,
        touchpoint,
        channel.kind,
        channel.target_kind,
        channel.target,
        channel.store_id,
    )


def _guide(session: Session, landing: Landing) -> tuple[str | None, str | None]:
    """The routed guide's WeCom id and contact-way URL, if any."""
    channel = session.get(ChannelCode, landing.id)
    guide = route_contact(session, routing_of(session, channel), utcnow()) if channel else None
    if guide is None:
        return None, None
    return guide.wecom_userid, guide.contact_way_url


def device_of(user_agent: str) -> str:
    ua = user_agent.lower()
    if "iphone" in ua or "ipad" in ua:
        return "iOS"
    if "android" in ua:
        return "Android"
    if "harmonyos" in ua or "openharmony" in ua:
        return "HarmonyOS"
    return "desktop" if ua else "unknown"


def scan_message(landing: Landing, request: Request, visitor: str, guide: str | None) -> dict:
    user_agent = request.headers.get("user-agent", "")
    properties = {
        "code": landing.code,
        "touchpoint": landing.touchpoint,
        "kind": landing.kind,
        "device": device_of(user_agent),
        "in_wechat": "micromessenger" in user_agent.lower(),
    }
    if guide:
        properties["guide"] = guide
    return {
        "type": "track",
        "event": "QR Code Scanned",
        "messageId": f"{_RUN}-{next(_serial)}",
        "anonymousId": visitor,
        "timestamp": utcnow().isoformat(),
        "properties": properties,
        "context": {
            "userAgent": user_agent[:500],
            "ip": request.client.host if request.client else None,
        },
    }


async def land(request: Request) -> Response:
    """A plain Starlette route: no dependency solving or response model on the hot path. Async
    by design, as /v1 is: cache misses go to the thread pool, the scan's insert runs here."""
    code = request.path_params["code"]
    visitor = request.cookies.get(VISITOR_COOKIE) or uuid.uuid4().hex
    landing = _codes.peek(code, CODE_TTL) or await run_in_threadpool(_load_landing, code)
    if landing is None:
        return HTMLResponse(_page("这个二维码已失效 · This code is no longer in use"), 404)
    guide, guide_url = None, None
    if landing.target_kind == "wecom_contact_way":
        routed = _routes.peek(code, ROUTE_TTL) or await run_in_threadpool(_load_route, landing)
        guide, guide_url = routed
    source = _sources.peek(_source_key(), SOURCE_TTL) or await run_in_threadpool(_load_source)
    # Answer only once the scan is committed: a redirected scan is never lost.
    await _store_scan(source, scan_message(landing, request, visitor, guide))
    response = _onwards(guide_url or landing.target, landing.target_kind)
    secure = get_settings().secure_cookies
    response.set_cookie(
        VISITOR_COOKIE, visitor, max_age=3600 * 24 * 365, httponly=True, secure=secure
    )
    return response


router.add_route("/q/{code}", land, methods=["GET"], include_in_schema=False)


def _load_landing(code: str) -> Landing | None:
    with session_factory()() as session:
        return _codes.get(code, CODE_TTL, lambda: _landing(session, code))


def _load_route(landing: Landing) -> tuple[str | None, str | None]:
    with session_factory()() as session:
        return _routes.get(landing.code, ROUTE_TTL, lambda: _guide(session, landing))


def _source_key() -> str:
    return f"{get_settings().database_url}:{SOURCE}"


def _load_source() -> SourceRef:
    with write_lock(), unit_of_work() as session:
        return _sources.get(_source_key(), SOURCE_TTL, lambda: internal_source(session, SOURCE))


async def _store_scan(source: SourceRef, message: dict) -> None:
    """Into the tracking inbox as the tracking API stores a single call: one insert and commit,
    on the event loop unless it must wait for SQLite's writer (as for /v1)."""
    result, checked = check_all([message], "track")
    if not checked:  # the server made this message: a rejection is a bug, never the phone's
        raise RuntimeError(f"scan message rejected: {result.rejected}")
    received = Received(orjson.dumps(message), "", 1, utcnow(), None, "track")
    try:
        await receive_on_loop(source, result, received, checked)
    except Exception:
        _sources.clear()  # the source row may be what failed: look it up again next time
        raise


def _onwards(target: str, target_kind: str) -> Response:
    if target.startswith(("https://", "http://")):  # never another scheme, whatever is stored
        return RedirectResponse(target, status_code=302)
    # A mini-program path (or no target yet) cannot be redirected to from a browser.
    text = (
        "请在微信中打开小程序 · Open in the WeChat mini program" if target else "谢谢 · Thank you"
    )
    return HTMLResponse(_page(text, target if target_kind == "mini_program" else ""))


def _page(text: str, detail: str = "") -> str:
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1"><title>Siyu</title>'
        '</head><body style="font-family:sans-serif;text-align:center;padding:3em 1em">'
        f"<p>{escape(text)}</p><p><code>{escape(detail)}</code></p></body></html>"
    )
