"""Stores and staff: open a store, take on staff, and give customers an owner (the guide, 导购).

A customer's owner is the staff member who looks after them (usually the guide whose WeCom they
added); the owner's store becomes the customer's store.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.errors import InvalidInput, NotFound
from siyu.customers.models import Customer, Identity
from siyu.customers.service import survivor
from siyu.staff.models import STAFF_ROLES, STAFF_STATUSES, Staff, Store, Team

Key = tuple[str, str]
CHUNK = 500


def create_store(session: Session, code: str, name: str, city: str | None = None) -> Store:
    """Open a store; a store with this code already is updated instead."""
    code = code.strip()
    if not code:
        raise InvalidInput("a store needs a code", field="code")
    store = session.scalar(select(Store).where(Store.code == code))
    if store is None:
        store = Store(code=code)
        session.add(store)
    store.name, store.city = name, city
    session.flush()
    return store


def create_staff(
    session: Session,
    name: str,
    role: str = "guide",
    store_id: int | None = None,
    wecom_userid: str | None = None,
) -> Staff:
    """Take on a staff member; one with this WeCom UserID already is updated instead."""
    if role not in STAFF_ROLES:
        raise InvalidInput(f"role must be one of {', '.join(STAFF_ROLES)}", field="role")
    if store_id is not None and session.get(Store, store_id) is None:
        raise NotFound(f"no store {store_id}", field="store_id")
    staff = None
    if wecom_userid:
        staff = session.scalar(select(Staff).where(Staff.wecom_userid == wecom_userid))
    if staff is None:
        staff = Staff(wecom_userid=wecom_userid or None)
        session.add(staff)
    staff.name, staff.role, staff.store_id = name, role, store_id
    session.flush()
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
        raise NotFound(f"no staff member {staff_id}", field="staff_id")
    if "role" in fields and fields["role"] not in STAFF_ROLES:
        raise InvalidInput(f"role must be one of {', '.join(STAFF_ROLES)}", field="role")
    if "status" in fields and fields["status"] not in STAFF_STATUSES:
        raise InvalidInput("status must be active or left", field="status")
    for field, model in (("store_id", Store), ("team_id", Team), ("manager_id", Staff)):
        if fields.get(field) is not None and session.get(model, fields[field]) is None:
            raise NotFound(f"no {field.removesuffix('_id')} {fields[field]}", field=field)
    if (fields.get("contact_limit") or 0) < 0:
        raise InvalidInput("a contact limit cannot be negative", field="contact_limit")
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


def create_team(session: Session, name: str, store_id: int | None = None) -> Team:
    """Make a team (a persona account and its assistants, a store's guides); one by name."""
    name = name.strip()
    if not name:
        raise InvalidInput("a team needs a name", field="name")
    if store_id is not None and session.get(Store, store_id) is None:
        raise NotFound(f"no store {store_id}", field="store_id")
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
    customer.owner_id = staff.id
    if staff.store_id is not None:
        customer.store_id = staff.store_id
