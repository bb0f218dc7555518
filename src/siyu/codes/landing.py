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
import re
import threading
import time
import uuid
from dataclasses import dataclass

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.codes.landing_page import Help, customer_locale, gone_page, help_page, is_web_address
from siyu.codes.models import ChannelCode
from siyu.codes.service import routing_of
from siyu.core.db import session_factory, unit_of_work, utcnow, write_lock
from siyu.core.settings import get_settings
from siyu.events.inbox import Received, check_all, receive_on_loop
from siyu.events.service import SourceRef
from siyu.events.sources import internal_source
from siyu.staff.models import Staff, Store
from siyu.staff.routing import route_contact
from siyu.touchpoints.models import Touchpoint

router = APIRouter(include_in_schema=False)
SOURCE = "qr-landing"
VISITOR_COOKIE = "siyu_aid"
CODE_TTL = 10.0  # seconds a code's target is cached (a changed target shows within 10 s)
ROUTE_TTL = 5.0  # seconds a code's routed guide is reused
SOURCE_TTL = 3600.0  # seconds the landing's source row is remembered
VISITOR_ID = re.compile(r"[0-9a-f]{32}")  # uuid4().hex, as the landing makes them
MAX_CODE = 64  # the column's length: a longer path is no code, and costs no lookup
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
    staff_id: int | None


@dataclass(frozen=True)
class Routed:
    """The guide a contact-way code routes to now (all None when nobody can take a contact)."""

    userid: str | None = None
    url: str | None = None
    name: str | None = None
    store_id: int | None = None
    staff_id: int | None = None


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


_codes, _routes, _sources, _helps = _Cache(), _Cache(), _Cache(), _Cache()
# Message ids: random per process, counted within it (one random draw per process, not per scan).
_RUN, _serial = uuid.uuid4().hex, itertools.count(1)


def forget_cached() -> None:
    """Drop cached codes, routes and the source (tests, and after a code changes)."""
    for cache in (_codes, _routes, _sources, _helps):
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
        channel.staff_id,
    )


def _guide(session: Session, landing: Landing) -> Routed:
    """The routed guide: WeCom id, contact-way URL and name, if anyone can take a contact."""
    channel = session.get(ChannelCode, landing.id)
    guide = route_contact(session, routing_of(session, channel), utcnow()) if channel else None
    if guide is None:
        return Routed()
    return Routed(guide.wecom_userid, guide.contact_way_url, guide.name, guide.store_id, guide.id)


def _help(session: Session, landing: Landing, routed: Routed | None) -> Help:
    """What the help page can offer: the routed guide (else the code's own), the code's store
    (else that guide's) and a mini-program path."""
    if routed is not None and routed.staff_id is not None:
        name, url, guide_store = routed.name, routed.url, routed.store_id
    else:
        guide = session.get(Staff, landing.staff_id) if landing.staff_id else None
        name, url, guide_store = (
            (guide.name, guide.contact_way_url, guide.store_id) if guide else (None, None, None)
        )
    store_id = landing.store_id or guide_store
    store = session.get(Store, store_id) if store_id else None
    path = landing.target if landing.target_kind == "mini_program" and landing.target else None
    return Help(
        guide_name=name,
        guide_url=url,
        store_name=store.name if store else None,
        store_city=store.city if store else None,
        mini_program_path=path,
    )


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
    landing = None
    if len(code) <= MAX_CODE:
        landing = _codes.peek(code, CODE_TTL) or await run_in_threadpool(_load_landing, code)
    if landing is None:
        return HTMLResponse(gone_page(_locale(request)), 404)
    visitor = _visitor(request.cookies.get(VISITOR_COOKIE, ""))
    routed = None
    if landing.target_kind == "wecom_contact_way":
        routed = _routes.peek(code, ROUTE_TTL) or await run_in_threadpool(_load_route, landing)
    source = _sources.peek(_source_key(), SOURCE_TTL) or await run_in_threadpool(_load_source)
    # Answer only once the scan is committed: a redirected scan is never lost.
    guide = routed.userid if routed else None
    await _store_scan(source, scan_message(landing, request, visitor, guide))
    onwards = routed.url if routed and is_web_address(routed.url) else landing.target
    if is_web_address(onwards):  # never another scheme, whatever is stored
        response: Response = RedirectResponse(onwards, status_code=302)
    else:  # no target yet, a platform not set up, or a mini-program path
        found = _helps.peek(code, ROUTE_TTL) or await run_in_threadpool(_load_help, landing, routed)
        response = HTMLResponse(help_page(found, _locale(request)))
    secure = get_settings().secure_cookies
    response.set_cookie(
        VISITOR_COOKIE, visitor, max_age=3600 * 24 * 365, httponly=True, secure=secure
    )
    return response


def _visitor(cookie: str) -> str:
    """The phone's anonymous id: the one this landing gave it, else a new one. A cookie is the
    stranger's to write ('null', a blocked value, megabytes): only our own form is taken."""
    return cookie if VISITOR_ID.fullmatch(cookie) else uuid.uuid4().hex


def _locale(request: Request) -> str:
    headers = request.headers
    return customer_locale(headers.get("accept-language", ""), headers.get("user-agent", ""))


router.add_route("/q/{code}", land, methods=["GET"], include_in_schema=False)


def _load_landing(code: str) -> Landing | None:
    with session_factory()() as session:
        return _codes.get(code, CODE_TTL, lambda: _landing(session, code))


def _load_route(landing: Landing) -> Routed:
    with session_factory()() as session:
        return _routes.get(landing.code, ROUTE_TTL, lambda: _guide(session, landing))


def _load_help(landing: Landing, routed: Routed | None) -> Help:
    with session_factory()() as session:
        return _helps.get(landing.code, ROUTE_TTL, lambda: _help(session, landing, routed))


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
