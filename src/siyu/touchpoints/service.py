"""The touchpoint registry: register codes, and keep unknown codes seen in events."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.errors import InvalidInput, NotFound
from siyu.staff.models import Staff, Store
from siyu.touchpoints.models import ENTRY_TYPES, GROUPS, Touchpoint, TouchpointCost


def register(
    session: Session,
    code: str,
    name: str,
    group: str = "other",
    entry_type: str = "owned",
    store_id: int | None = None,
    owner_id: int | None = None,
) -> Touchpoint:
    """Create or update a touchpoint; an unregistered code seen in events becomes registered."""
    if group not in GROUPS:
        raise InvalidInput(f"group must be one of {', '.join(GROUPS)}", field="group")
    if entry_type not in ENTRY_TYPES:
        raise InvalidInput(
            f"entry_type must be one of {', '.join(ENTRY_TYPES)}", field="entry_type"
        )
    touchpoint = session.scalar(select(Touchpoint).where(Touchpoint.code == code))
    if touchpoint is None:
        touchpoint = Touchpoint(code=code)
        session.add(touchpoint)
    touchpoint.name, touchpoint.group, touchpoint.entry_type = name, group, entry_type
    touchpoint.store_id, touchpoint.owner_id = store_id, owner_id
    touchpoint.is_registered = True
    session.flush()
    return touchpoint


def store_and_owner(
    session: Session, store_code: str | None, owner_wecom_userid: str | None
) -> tuple[int | None, int | None]:
    """Ids of a store (by its code) and an owner (by WeCom UserID); unknown ones are errors."""
    store_id = owner_id = None
    if store_code:
        store_id = session.scalar(select(Store.id).where(Store.code == store_code))
        if store_id is None:
            raise NotFound(f"no store with the code {store_code!r}", field="store")
    if owner_wecom_userid:
        owner_id = session.scalar(select(Staff.id).where(Staff.wecom_userid == owner_wecom_userid))
        if owner_id is None:
            raise NotFound(f"no staff member {owner_wecom_userid!r}", field="owner")
    return store_id, owner_id


def store_codes_and_owners(session: Session) -> tuple[dict[int, str], dict[int, str]]:
    """Store codes by id, and staff by id as their WeCom UserID (or name)."""
    stores = {i: c for i, c in session.execute(select(Store.id, Store.code))}
    owners = {
        staff_id: wecom_userid or name
        for staff_id, wecom_userid, name in session.execute(
            select(Staff.id, Staff.wecom_userid, Staff.name)
        )
    }
    return stores, owners


def keep_unknown(session: Session, codes: Iterable[str]) -> list[str]:
    """Register, as unregistered, every code not yet known; returns the new ones."""
    wanted = set(codes)
    if not wanted:
        return []
    known = set(session.scalars(select(Touchpoint.code).where(Touchpoint.code.in_(wanted))))
    new = sorted(wanted - known)
    for code in new:
        session.add(Touchpoint(code=code, name=code, is_registered=False))
    return new


def keep_unknown_of(session: Session, rows: list[dict]) -> None:
    """Register the codes these stored events name that are not known yet (outbox rows: a
    subscriber of events' one writer)."""
    keep_unknown(session, {r["touchpoint"] for r in rows if r["touchpoint"]})


def record_cost(
    session: Session, code: str, period_start: datetime, period_end: datetime, cost_fen: int
) -> TouchpointCost:
    """What a paid touchpoint cost over [period_start, period_end), for ROI."""
    touchpoint = session.scalar(select(Touchpoint).where(Touchpoint.code == code))
    if touchpoint is None:
        raise InvalidInput(f"no touchpoint with the code {code!r}", field="code")
    if period_end <= period_start:
        raise InvalidInput("the period must end after it starts", field="period_end")
    if cost_fen < 0:
        raise InvalidInput("a cost cannot be negative", field="cost")
    cost = TouchpointCost(
        touchpoint_id=touchpoint.id,
        period_start=period_start,
        period_end=period_end,
        cost_fen=cost_fen,
    )
    session.add(cost)
    session.flush()
    return cost


def list_touchpoints(session: Session) -> list[Touchpoint]:
    return list(session.scalars(select(Touchpoint).order_by(Touchpoint.code)))
