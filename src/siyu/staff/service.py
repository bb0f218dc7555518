"""Stores and staff: open a store, take on staff, and give customers an owner (the guide, 导购).

A customer's owner is the staff member who looks after them (usually the guide whose WeCom they
added); the owner's store becomes the customer's store.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core.errors import Conflict, InvalidInput, NotFound
from siyu.core.i18n import N_
from siyu.customers.models import Customer, Identity
from siyu.customers.service import survivor
from siyu.staff.models import STAFF_ROLES, STAFF_STATUSES, Staff, Store, Team

Key = tuple[str, str]
CHUNK = 500
STORE_CODE = re.compile(r"^[A-Za-z0-9_-]+$")


def create_store(session: Session, code: str, name: str, city: str | None = None) -> Store:
    """Open a store; a store with this code already is updated instead."""
    code, name = code.strip(), name.strip()
    _check_store(code, name)
    store = session.scalar(select(Store).where(Store.code == code))
    if store is None:
        store = Store(code=code)
        session.add(store)
    store.name, store.city = name, (city or "").strip() or None
    session.flush()
    return store


def add_store(session: Session, code: str, name: str, city: str | None = None) -> Store:
    """Open a new store; a code already in use is refused (`create_store` updates it instead)."""
    if session.scalar(select(Store.id).where(Store.code == code.strip())) is not None:
        raise Conflict(N_("a store with this code exists already"), field="code")
    return create_store(session, code, name, city)


def update_store(session: Session, store_id: int, **fields: str | None) -> Store:
    """Rename a store, move it to a city, or give it another code."""
    store = session.get(Store, store_id)
    if store is None:
        raise NotFound(N_("no such store"), field="store_id")
    unknown = set(fields) - {"code", "name", "city"}
    if unknown:
        raise InvalidInput(N_("this cannot be changed here"), field=sorted(unknown)[0])
    code = (fields.get("code") or store.code).strip()
    taken = session.scalar(select(Store.id).where(Store.code == code, Store.id != store.id))
    if taken is not None:
        raise Conflict(N_("a store with this code exists already"), field="code")
    _check_store(code, fields.get("name", store.name) or "")
    store.code, store.name = code, (fields.get("name", store.name) or "").strip()
    store.city = (fields.get("city", store.city) or "").strip() or None
    session.flush()
    return store


def _check_store(code: str, name: str) -> None:
    if not code:
        raise InvalidInput(N_("a store needs a code"), field="code")
    if len(code) > 64 or not STORE_CODE.match(code):
        raise InvalidInput(N_("a store code is letters, digits, - and _ (up to 64)"), field="code")
    if not name.strip():
        raise InvalidInput(N_("a store needs a name"), field="name")


def create_staff(
    session: Session,
    name: str,
    role: str = "guide",
    store_id: int | None = None,
    wecom_userid: str | None = None,
    **fields: Any,
) -> Staff:
    """Take on a staff member; one with this WeCom UserID already is updated instead.

    A brand without WeCom takes staff on with no UserID: each such call is a new person.
    `fields` are the others `update_staff` accepts (team, contact limit, contact way…)."""
    name = name.strip()
    if not name:
        raise InvalidInput(N_("a staff member needs a name"), field="name")
    if role not in STAFF_ROLES:
        raise InvalidInput(N_("choose one of the listed values"), field="role")
    if store_id is not None and session.get(Store, store_id) is None:
        raise NotFound(N_("no such store"), field="store_id")
    wecom_userid = (wecom_userid or "").strip() or None
    staff = None
    if wecom_userid:
        staff = session.scalar(select(Staff).where(Staff.wecom_userid == wecom_userid))
    if staff is None:
        staff = Staff(wecom_userid=wecom_userid)
        session.add(staff)
    staff.name, staff.role, staff.store_id = name, role, store_id
    session.flush()
    if fields:
        update_staff(session, staff.id, **fields)
    return staff


def ensure_staff(session: Session, wecom_userid: str) -> Staff:
    """The staff member with this WeCom UserID, created when unknown (a callback naming a guide
    Siyu does not know yet must not drop the customer); a later sync fills in the details."""
    wecom_userid = wecom_userid.strip()
    if not wecom_userid:
        raise InvalidInput("a WeCom UserID is needed", field="wecom_userid")
    staff = session.scalar(select(Staff).where(Staff.wecom_userid == wecom_userid))
    if staff is None:
        staff = Staff(name=wecom_userid, role="guide", wecom_userid=wecom_userid, needs_sync=True)
        session.add(staff)
        session.flush()
    return staff


def update_staff(session: Session, staff_id: int, **fields) -> Staff:
    """Change a staff member's role, store, team, manager, status, contact limit or contact way."""
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise NotFound(N_("no such staff member"), field="staff_id")
    if "name" in fields and not (fields["name"] or "").strip():
        raise InvalidInput(N_("a staff member needs a name"), field="name")
    if "role" in fields and fields["role"] not in STAFF_ROLES:
        raise InvalidInput(N_("choose one of the listed values"), field="role")
    if "status" in fields and fields["status"] not in STAFF_STATUSES:
        raise InvalidInput(N_("choose one of the listed values"), field="status")
    for field, model in (("store_id", Store), ("team_id", Team), ("manager_id", Staff)):
        if fields.get(field) is not None and session.get(model, fields[field]) is None:
            raise NotFound(MISSING[field], field=field)
    if fields.get("manager_id") is not None and fields["manager_id"] == staff_id:
        raise InvalidInput(N_("a staff member cannot be their own manager"), field="manager_id")
    if (fields.get("contact_limit") or 0) < 0:
        raise InvalidInput(N_("a contact limit cannot be negative"), field="contact_limit")
    allowed = {
        "name",
        "role",
        "store_id",
        "team_id",
        "manager_id",
        "status",
        "contact_limit",
        "contact_way_url",
        "needs_sync",
    }
    for field, value in fields.items():
        if field not in allowed:
            raise InvalidInput(f"{field} cannot be changed here", field=field)
        setattr(staff, field, value)
    session.flush()
    return staff


MISSING = {
    "store_id": N_("no such store"),
    "team_id": N_("no such team"),
    "manager_id": N_("no such staff member"),
}


def create_team(session: Session, name: str, store_id: int | None = None) -> Team:
    """Make a team (a persona account and its assistants, a store's guides); one by name."""
    name = name.strip()
    if not name:
        raise InvalidInput(N_("a team needs a name"), field="name")
    if store_id is not None and session.get(Store, store_id) is None:
        raise NotFound(N_("no such store"), field="store_id")
    team = session.scalar(select(Team).where(Team.name == name))
    if team is None:
        team = Team(name=name)
        session.add(team)
    team.store_id = store_id
    session.flush()
    return team


def list_staff(session: Session, status: str | None = None) -> list[Staff]:
    query = select(Staff).order_by(Staff.store_id, Staff.name, Staff.id)
    if status:
        query = query.where(Staff.status == status)
    return list(session.scalars(query))


def list_stores(session: Session) -> list[Store]:
    return list(session.scalars(select(Store).order_by(Store.code)))


def find_store(session: Session, ref: str | int) -> Store:
    """A store by its code, or by its id."""
    ref = str(ref).strip()
    store = session.scalar(select(Store).where(Store.code == ref))
    if store is None and ref.isdigit() and len(ref) < 19:
        store = session.get(Store, int(ref))
    if store is None:
        raise NotFound(N_("no such store"), field="store")
    return store


@dataclass(frozen=True)
class StoreCounts:
    guides: int = 0
    customers: int = 0


def stores_with_counts(session: Session) -> list[tuple[Store, StoreCounts]]:
    """Every store with its active guides (and persona accounts) and its customers."""
    guides = dict(
        session.execute(
            select(Staff.store_id, func.count(Staff.id))
            .where(Staff.status == "active", Staff.role.in_(("guide", "persona")))
            .group_by(Staff.store_id)
        ).all()
    )
    customers = dict(
        session.execute(
            select(Customer.store_id, func.count(Customer.id))
            .where(Customer.merged_into_id.is_(None))
            .group_by(Customer.store_id)
        ).all()
    )
    return [
        (s, StoreCounts(guides.get(s.id, 0), customers.get(s.id, 0))) for s in list_stores(session)
    ]


def list_teams(session: Session) -> list[Team]:
    return list(session.scalars(select(Team).order_by(Team.name)))


def staff_by_wecom(session: Session) -> dict[str, int]:
    """Staff ids by WeCom UserID (what WeCom callbacks name a guide by)."""
    rows = session.execute(
        select(Staff.wecom_userid, Staff.id).where(Staff.wecom_userid.is_not(None))
    )
    return {userid: staff_id for userid, staff_id in rows if userid is not None}


def assign_owner(session: Session, customer_id: int, staff_id: int) -> Customer:
    """Make a staff member the customer's owner; a merged customer's survivor is the one changed."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"no customer {customer_id}", field="customer_id")
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise NotFound(f"no staff member {staff_id}", field="staff_id")
    customer = survivor(session, customer)
    _own(customer, staff)
    session.flush()
    return customer


def assign_owners(session: Session, owners: Mapping[Key, int]) -> int:
    """Set owners by any identity of the customer, in a few queries; returns customers changed.

    Identities not (yet) known are skipped; when two keys name one customer, the later one wins.
    """
    if not owners:
        return 0
    customer_of = _customers_by_identity(session, list(owners))
    staff = {
        s.id: s for s in session.scalars(select(Staff).where(Staff.id.in_(set(owners.values()))))
    }
    customers = {
        c.id: c
        for c in session.scalars(select(Customer).where(Customer.id.in_(set(customer_of.values()))))
    }
    changed = set()
    for key, staff_id in owners.items():
        customer_id = customer_of.get(key)
        customer = customers.get(customer_id) if customer_id is not None else None
        if customer is not None and staff_id in staff:
            _own(customer, staff[staff_id])
            changed.add(customer.id)
    session.flush()
    return len(changed)


def _customers_by_identity(session: Session, keys: list[Key]) -> dict[Key, int]:
    # One IN list per identity type: SQLite scans the whole table for a row-value IN
    # ((type, value) IN (VALUES …)), but uses the (type, value) index for this shape.
    values_of: dict[str, list[str]] = {}
    for kind, value in keys:
        values_of.setdefault(kind, []).append(value)
    found: dict[Key, int] = {}
    for kind, values in values_of.items():
        for start in range(0, len(values), CHUNK):
            rows = session.execute(
                select(Identity.value, Identity.customer_id).where(
                    Identity.type == kind, Identity.value.in_(values[start : start + CHUNK])
                )
            )
            found.update({(kind, value): customer_id for value, customer_id in rows})
    return found


def _own(customer: Customer, staff: Staff) -> None:
    for name, value in owned_by(staff).items():
        setattr(customer, name, value)


def owned_by(staff: Staff) -> dict[str, int]:
    """A customer's columns once this staff member owns them: the owner's store becomes theirs."""
    return {"owner_id": staff.id} | ({"store_id": staff.store_id} if staff.store_id else {})
