"""Channel codes: create one (or a batch), find one by its code, set the guides it routes to."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from siyu.codes.models import KINDS, TARGET_KINDS, WEEKDAYS, ChannelCode, CodeGuide
from siyu.core.db import utcnow
from siyu.core.errors import Conflict, InvalidInput, NotFound
from siyu.core.settings import get_settings
from siyu.staff.models import Staff, Store
from siyu.staff.routing import Route
from siyu.touchpoints import service as touchpoints
from siyu.touchpoints.models import Touchpoint

CODE_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
TIME_PATTERN = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
# A mini-program page: a path with an optional query, and no scheme (pages/index/index?from=qr).
MINI_PROGRAM_PATH = re.compile(r"^/?[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-.]+)*(\?[^\s#]*)?$")
WEB_SCHEMES = ("https", "http")
MAX_TARGET = 1000  # the column's length
# A code's kind → the first word of a code made for it.
CODE_WORDS = {
    "store": "store",
    "guide": "guide",
    "poster": "poster",
    "product_item": "item",
    "group": "group",
    "other": "code",
}
# A code's kind → the touchpoint group a touchpoint made for it falls in.
KIND_GROUPS = {
    "store": "store",
    "guide": "guide",
    "poster": "poster",
    "product_item": "product_item",
    "group": "group",
    "other": "other",
}


# What a code's target needs from the platform: its API, to make the QR code, and its callback,
# to be told of the add or follow the QR code brings. Setting names, as Settings spells them.
PLATFORM_SETTINGS = {
    "wecom_contact_way": (("wecom_corp_id", "wecom_secret"), ("wecom_token", "wecom_aes_key")),
    "official_account_qr": (("wechat_app_id", "wechat_secret"), ("wechat_token",)),
}


def missing_settings(target_kind: str, *, api_only: bool = False) -> list[str]:
    """The SIYU_* settings a code opening `target_kind` needs (with `api_only`: to make its QR
    code) and this site lacks."""
    settings = get_settings()
    api, callback = PLATFORM_SETTINGS.get(target_kind, ((), ()))
    needed = api if api_only else api + callback
    return [f"SIYU_{name.upper()}" for name in needed if not getattr(settings, name)]


def find_code(session: Session, code: str) -> ChannelCode | None:
    """The channel code with this code (a landing path, a contact way's state, a scene key)."""
    return session.scalar(select(ChannelCode).where(ChannelCode.code == code))


def new_code(
    session: Session,
    kind: str = "other",
    store_id: int | None = None,
    staff_id: int | None = None,
    now: datetime | None = None,
) -> str:
    """A code a person can read aloud and find again: what it is, whose (its store, or for a
    guide's code its guide) and the week it was made in (`store-sh01-2026w49`,
    `guide-zhang-2026w49`, `poster-2026w49-2`); never one that a code or a touchpoint has."""
    week = (now or utcnow()).astimezone(get_settings().zone).isocalendar()
    store = session.get(Store, store_id) if store_id is not None else None
    staff = session.get(Staff, staff_id) if staff_id is not None else None
    whose = [
        _slug(store.code) or f"s{store.id}" if store else None,
        _slug(staff.wecom_userid or "") or f"g{staff.id}" if staff else None,
    ]
    if kind == "guide":  # a guide's code names the guide; any other names its store first
        whose.reverse()
    owner = next((part for part in whose if part), None)
    parts = [CODE_WORDS.get(kind, "code"), owner, f"{week.year}w{week.week:02d}"]
    stem = "-".join(part for part in parts if part)
    for n in range(1, 10_000):
        candidate = stem if n == 1 else f"{stem}-{n}"
        if not _is_taken(session, candidate):
            return candidate
    return f"{stem}-{secrets.token_hex(4)}"  # ten thousand codes of one kind in a week


def _slug(text: str) -> str:
    """Lower-case letters, digits and single hyphens, at most 20 characters."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:20].strip("-")


def _is_taken(session: Session, code: str) -> bool:
    if find_code(session, code) is not None:
        return True
    return session.scalar(select(Touchpoint.id).where(Touchpoint.code == code)) is not None


def create_code(
    session: Session,
    name: str,
    *,
    code: str | None = None,
    kind: str = "other",
    touchpoint: str | None = None,
    store_id: int | None = None,
    staff_id: int | None = None,
    target_kind: str = "url",
    target: str = "",
    tag_names: Sequence[str] = (),
    welcome_message: str | None = None,
    routes: Sequence[Route] = (),
    batch_id: int | None = None,
) -> ChannelCode:
    """Create a channel code. `touchpoint` is a touchpoint code; without one, a touchpoint with
    the channel code's own code is registered, so every scan and add is attributed somewhere."""
    code = (code or "").strip() or new_code(session, kind, store_id, staff_id)
    _check(session, code, name, kind, target_kind, target, store_id, staff_id)
    channel = ChannelCode(
        code=code,
        name=name.strip(),
        kind=kind,
        touchpoint_id=_touchpoint_for(session, touchpoint or code, name, kind, store_id, staff_id),
        store_id=store_id,
        staff_id=staff_id,
        target_kind=target_kind,
        target=target.strip(),
        tag_names=_tag_names(tag_names),
        welcome_message=(welcome_message or "").strip() or None,
        batch_id=batch_id,
    )
    session.add(channel)
    session.flush()
    if routes:
        set_routes(session, channel, routes)
    return channel


def _check(session, code, name, kind, target_kind, target, store_id, staff_id) -> None:
    if not CODE_PATTERN.match(code):
        raise InvalidInput("a code is 1 to 64 letters, digits, '-', '_' or '.'", field="code")
    if not name.strip():
        raise InvalidInput("a code needs a name", field="name")
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}", field="kind")
    check_target(target_kind, target)
    if store_id is not None and session.get(Store, store_id) is None:
        raise NotFound(f"no store {store_id}", field="store_id")
    if staff_id is not None and session.get(Staff, staff_id) is None:
        raise NotFound(f"no staff member {staff_id}", field="staff_id")
    if find_code(session, code) is not None:
        raise Conflict(f"the code {code!r} is taken", field="code")


def check_target(target_kind: str, target: str) -> None:
    """A web target is an http(s) address with a host; a mini-program target is a page path.
    Nothing else (`javascript:`, `data:`, `ftp:`) ever reaches a scanning phone."""
    if target_kind not in TARGET_KINDS:
        raise InvalidInput(
            f"target_kind must be one of {', '.join(TARGET_KINDS)}", field="target_kind"
        )
    target = target.strip()
    if not target:
        return
    if len(target) > MAX_TARGET:
        raise InvalidInput(f"the target is longer than {MAX_TARGET} characters", field="target")
    if target_kind == "mini_program":
        if not MINI_PROGRAM_PATH.match(target):
            raise InvalidInput(
                "a mini-program target is a page path such as pages/index/index?from=qr",
                field="target",
            )
        return
    if not _is_web_address(target):
        raise InvalidInput("the target must be a full http(s) address (https://…)", field="target")


def _is_web_address(target: str) -> bool:
    if any(ch.isspace() or not ch.isprintable() for ch in target):
        return False
    try:
        parts = urlsplit(target)
    except ValueError:  # a malformed host, such as an unclosed IPv6 bracket
        return False
    return parts.scheme.lower() in WEB_SCHEMES and bool(parts.hostname)


def _touchpoint_for(session, touchpoint_code, name, kind, store_id, staff_id) -> int:
    found = session.scalar(select(Touchpoint).where(Touchpoint.code == touchpoint_code))
    if found is not None and found.is_registered:
        return found.id
    group = KIND_GROUPS[kind]
    return touchpoints.register(
        session, touchpoint_code, name, group, "owned", store_id, staff_id
    ).id


def _tag_names(names: Iterable[str]) -> list[str]:
    cleaned = list(dict.fromkeys(n.strip() for n in names if n and n.strip()))
    for name in cleaned:
        if len(name) > 64:
            raise InvalidInput("a tag name is 1 to 64 characters", field="tag_names")
    return cleaned


def set_routes(session: Session, channel: ChannelCode, routes: Sequence[Route]) -> list[CodeGuide]:
    """Replace the guides a code routes to."""
    seen = set()
    for route in routes:
        _check_route(session, route)
        if route.staff_id in seen:
            raise InvalidInput("a guide appears twice in the routing", field="routes")
        seen.add(route.staff_id)
    session.execute(delete(CodeGuide).where(CodeGuide.code_id == channel.id))
    rows = [CodeGuide(code_id=channel.id, **route.__dict__) for route in routes]
    session.add_all(rows)
    session.flush()
    return rows


def _check_route(session: Session, route: Route) -> None:
    if session.get(Staff, route.staff_id) is None:
        raise NotFound(f"no staff member {route.staff_id}", field="routes")
    if route.weight < 1:
        raise InvalidInput("a weight is at least 1", field="weight")
    if not route.weekdays or set(route.weekdays) - set(WEEKDAYS):
        raise InvalidInput("weekdays are digits 1 (Monday) to 7 (Sunday)", field="weekdays")
    for field, value in (("start_time", route.start_time), ("end_time", route.end_time)):
        if value is not None and not TIME_PATTERN.match(value):
            raise InvalidInput("a time is HH:MM", field=field)
    if route.daily_limit is not None and route.daily_limit < 0:
        raise InvalidInput("a daily limit cannot be negative", field="daily_limit")


def routes_of(session: Session, code_id: int) -> list[CodeGuide]:
    return list(
        session.scalars(
            select(CodeGuide).where(CodeGuide.code_id == code_id).order_by(CodeGuide.id)
        )
    )


def touchpoint_code(session: Session, code: ChannelCode | None) -> str | None:
    """The code of the touchpoint a channel code reports under (None without a code)."""
    if code is None:
        return None
    return session.scalar(select(Touchpoint.code).where(Touchpoint.id == code.touchpoint_id))


def routing_of(session: Session, channel: ChannelCode) -> list[Route]:
    """The code's routing as values for `route_contact`; a code with none routes to its own
    guide, if it has one."""
    names = [field.name for field in fields(Route)]
    rows = routes_of(session, channel.id)
    routes = [Route(**{name: getattr(row, name) for name in names}) for row in rows]
    if not routes and channel.staff_id:
        routes = [Route(channel.staff_id)]
    return routes


def list_codes(
    session: Session, kind: str | None = None, limit: int = 200, offset: int = 0
) -> list[ChannelCode]:
    """Codes made one by one (not one-item-one-code batches), newest first."""
    query = select(ChannelCode).where(ChannelCode.batch_id.is_(None))
    if kind:
        query = query.where(ChannelCode.kind == kind)
    return list(session.scalars(query.order_by(ChannelCode.id.desc()).limit(limit).offset(offset)))


def landing_url(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/q/{code}"
