"""The demo brand's channel codes: one per scannable touchpoint, with routing and tags.

Each code takes its touchpoint's code, so the demo's scans and adds (which carry it) count on
the code's page. Store codes route to the store's guides (30 adds a day each, the manager as a
backup); posters and the cup code to the persona account first, whose contact limit is set just
above what it holds, so the console shows the capacity warning (the seeds' capacity paradox).
The demo has no WeCom, so no code has a target: a scan shows the page with the routed guide and
the store (and the console says which settings would connect WeCom).
"""

from __future__ import annotations

import math

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.codes.service import create_code, find_code
from siyu.core.audit import acting_as
from siyu.core.db import unit_of_work
from siyu.staff.models import Staff, Store
from siyu.staff.routing import Route, contacts_of
from siyu.touchpoints.models import Touchpoint

SCANNABLE = {"store", "guide", "group", "poster", "product_item", "paid_ad"}
KINDS = {"paid_ad": "poster"}
WELCOME = "欢迎来到山茶！回复「菜单」看本周新品，首单立减 5 元的券已放进你的卡包。"


def seed_demo() -> int:
    """Create the demo's channel codes (skipping any that exist); returns how many were made."""
    with acting_as("cli:demo"), unit_of_work() as session:
        staff = {s.wecom_userid: s for s in session.scalars(select(Staff))}
        stores = {s.id: s for s in session.scalars(select(Store))}
        made = 0
        for touchpoint in session.scalars(select(Touchpoint).order_by(Touchpoint.code)):
            if is_scannable(touchpoint) and find_code(session, touchpoint.code) is None:
                _code_for(session, touchpoint, staff, stores)
                made += 1
        _limit_persona(session, staff.get("persona-xiaocha"))
    return made


def is_scannable(touchpoint: Touchpoint) -> bool:
    """A touchpoint a printed code stands for. A guide touchpoint without its guide is none:
    messages through guides (message-wecom) are touches of that group, never scanned."""
    if touchpoint.group == "guide" and touchpoint.owner_id is None:
        return False
    return touchpoint.group in SCANNABLE


def _code_for(session: Session, touchpoint: Touchpoint, staff: dict, stores: dict) -> None:
    store = stores.get(touchpoint.store_id)
    create_code(
        session,
        touchpoint.name,
        code=touchpoint.code,
        kind=KINDS.get(touchpoint.group, touchpoint.group),
        touchpoint=touchpoint.code,
        store_id=touchpoint.store_id,
        staff_id=touchpoint.owner_id,
        target_kind="url" if touchpoint.group == "paid_ad" else "wecom_contact_way",
        target="",  # no WeCom in the demo: a scan shows its guide and store, not a dead link
        tag_names=[t for t in (store.name if store else None, touchpoint.name) if t],
        welcome_message=WELCOME,
        routes=_routes(touchpoint, staff, store),
    )


def _routes(touchpoint: Touchpoint, staff: dict, store: Store | None) -> list[Route]:
    if touchpoint.owner_id is not None:
        return [Route(touchpoint.owner_id)]
    if touchpoint.group == "store" and store is not None:
        guides = [s for s in staff.values() if s.store_id == store.id]
        routes = [Route(s.id, daily_limit=30) for s in guides if s.role == "guide"]
        return routes + [Route(s.id, is_backup=True) for s in guides if s.role == "manager"]
    if touchpoint.group in ("poster", "product_item"):
        persona, assistant = staff.get("persona-xiaocha"), staff.get("assistant-xiaocha")
        routes = [Route(persona.id, weight=3)] if persona else []
        return routes + ([Route(assistant.id, is_backup=True)] if assistant else [])
    return []


def _limit_persona(session: Session, persona: Staff | None) -> None:
    if persona is not None and persona.contact_limit is None:
        held = contacts_of(session, persona.id)
        persona.contact_limit = max(held + 1, math.ceil(held / 0.85))
