"""What the customers domain does: find a customer by any id, merge and unmerge."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from siyu.core.db import utcnow
from siyu.core.errors import Conflict, InvalidInput, NotFound
from siyu.core.i18n import N_
from siyu.customers import identity as ids
from siyu.customers.models import Customer, CustomerMerge, Identity
from siyu.customers.resolver import Resolver
from siyu.orders.models import Order


def find_customer(session: Session, ref: str | int) -> Customer:
    """A customer by its id or by any identity value; a merged one leads to where it went."""
    text = str(ref).strip()
    if not text:
        raise InvalidInput("give a customer id or an identity value", field="id")
    customer = session.get(Customer, int(text)) if text.isdecimal() and len(text) < 19 else None
    if customer is None:
        candidates = {text, text.lower()}
        phone = ids.normalize_phone(text)
        if phone:
            candidates.add(phone)
        owners = session.scalars(
            select(Identity.customer_id).where(Identity.value.in_(candidates)).order_by(Identity.id)
        ).all()
        if not owners:
            raise NotFound(f"no customer has the id or identity {text!r}", field="id")
        customer = session.get_one(Customer, owners[0])
    return survivor(session, customer)


def survivor(session: Session, customer: Customer) -> Customer:
    """The customer this one was merged into, however deep (itself when it was not merged)."""
    while customer.merged_into_id is not None:
        customer = session.get_one(Customer, customer.merged_into_id)
    return customer


def customer_of(session: Session, kind: str, value: str) -> Customer | None:
    """The customer an identity of this type names today (after merges)."""
    customer_id = session.scalar(
        select(Identity.customer_id).where(Identity.type == kind, Identity.value == value)
    )
    customer = session.get(Customer, customer_id) if customer_id else None
    return survivor(session, customer) if customer else None


LIST_LIMIT = 200_000
LIST_HEADERS = frozenset(
    {"id", "customer_id", "customer", "user_id", "phone", "mobile", "手机", "手机号", "电话"}
    | {"客户id", "客户编号"}
)
CHUNK = 500


def read_list(data: bytes) -> list[str]:
    """The customers an uploaded list names: its first column (a CSV, or one value a line),
    without a header row such as `phone` or `customer_id`."""
    text = data.decode("utf-8-sig", errors="replace")
    refs = [row[0].strip() for row in csv.reader(io.StringIO(text)) if row and row[0].strip()]
    if refs and refs[0].lower() in LIST_HEADERS:
        refs = refs[1:]
    if len(refs) > LIST_LIMIT:
        raise InvalidInput(N_("at most 200,000 customers at a time"), field="file")
    return refs


def customers_by_ref(session: Session, refs: Iterable[str]) -> dict[str, int]:
    """Each reference of a list that names a customer, to that customer's id, in a few queries.

    A number under 11 digits is a customer id (a merged customer leads to the one it went into);
    anything else is a phone, in any usual form, or another identity value.
    """
    keys: dict[str, int | str] = {}  # a customer id, or an identity's value
    for ref in refs:
        text = ref.strip()
        if text.isdecimal() and len(text) < 11:
            keys[ref] = int(text)
        elif text:
            keys[ref] = ids.normalize_phone(text) or text
    by_id = _by_id(session, {key for key in keys.values() if isinstance(key, int)})
    by_value = _by_value(session, list({key for key in keys.values() if isinstance(key, str)}))
    found = {}
    for ref, key in keys.items():
        customer = by_id.get(key) if isinstance(key, int) else by_value.get(key)
        if customer:
            found[ref] = customer
    return found


def _by_id(session: Session, numbers: set[int]) -> dict[int, int]:
    found, wanted = {}, sorted(numbers)
    for start in range(0, len(wanted), CHUNK):
        rows = session.execute(
            select(Customer.id, Customer.merged_into_id).where(
                Customer.id.in_(wanted[start : start + CHUNK])
            )
        )
        for customer_id, merged_into in rows:
            found[customer_id] = merged_into or customer_id
    return found


def _by_value(session: Session, values: list[str]) -> dict[str, int]:
    found = {}
    for start in range(0, len(values), CHUNK):
        rows = session.execute(
            select(Identity.value, Identity.customer_id).where(
                Identity.value.in_(values[start : start + CHUNK])
            )
        )
        found.update({value: customer_id for value, customer_id in rows})
    return found


def recorded_customer(session: Session, kind: str, value: str) -> Customer:
    """The customer of an identity just recorded, which always names one."""
    customer = customer_of(session, kind, value)
    if customer is None:
        raise LookupError(f"no customer has the {kind} just recorded")
    return customer


def check_visible(customer: Customer, role: str, staff_id: int | None) -> None:
    """A guide sees only the customers they own; to them any other customer does not exist."""
    if role == "guide" and (staff_id is None or customer.owner_id != staff_id):
        raise _not_among_yours()


def find_visible_customer(
    session: Session, ref: str | int, role: str, staff_id: int | None
) -> Customer:
    """`find_customer` as this role sees it: to a guide, a customer who is someone else's and
    one who does not exist get the very same answer, so probing ids or phones tells nothing."""
    try:
        customer = find_customer(session, ref)
    except NotFound:
        if role == "guide":
            raise _not_among_yours() from None
        raise
    check_visible(customer, role, staff_id)
    return customer


def _not_among_yours() -> NotFound:
    return NotFound(N_("no such customer among yours"), field="id")


def merged_ids(session: Session, customer_id: int) -> list[int]:
    """This customer and every customer merged into it, however deep."""
    found, frontier = [customer_id], [customer_id]
    while frontier:
        frontier = list(
            session.scalars(select(Customer.id).where(Customer.merged_into_id.in_(frontier)))
        )
        found.extend(frontier)
    return found


def merge_customers(session: Session, merged_ref: str, kept_ref: str, actor: str) -> CustomerMerge:
    """Explicitly fold customer A into customer B (`siyu customers merge A B`)."""
    merged, kept = find_customer(session, merged_ref), find_customer(session, kept_ref)
    if merged.id == kept.id:
        raise InvalidInput("both ids name the same customer", field="merged")
    return Resolver(session, actor=actor).merge(merged, kept, "manual")


def undo_merge(session: Session, merge_id: int, actor: str) -> CustomerMerge:
    """Put a merged customer back as it was: its identities, orders and traits return."""
    record = session.get(CustomerMerge, merge_id)
    if record is None:
        raise NotFound(f"no merge {merge_id}", field="merge_id")
    if record.undone_at is not None:
        raise Conflict(f"merge {merge_id} was already undone", field="merge_id")
    kept, merged = (
        session.get_one(Customer, record.kept_id),
        session.get_one(Customer, record.merged_id),
    )
    if kept.merged_into_id is not None:
        raise Conflict(
            f"customer {kept.id} was merged again later; undo that merge first", field="merge_id"
        )
    session.execute(
        update(Identity)
        .where(Identity.id.in_(record.moved_identity_ids), Identity.customer_id == kept.id)
        .values(customer_id=merged.id)
    )
    session.execute(
        update(Order)
        .where(Order.id.in_(record.moved_order_ids), Order.customer_id == kept.id)
        .values(customer_id=merged.id)
    )
    _restore_kept(kept, record)
    kept.is_identified = _has_strong_identity(session, kept.id)
    merged.merged_into_id = None
    record.undone_at, record.undone_by = utcnow(), actor
    session.flush()
    return record


def _restore_kept(kept: Customer, record: CustomerMerge) -> None:
    before, merged = record.kept_before, record.merged_before
    traits = {}
    for key, value in (kept.traits or {}).items():
        came_from_merge = key not in before["traits"] and merged["traits"].get(key) == value
        if not came_from_merge:
            traits[key] = value
    kept.traits = traits
    for field in ("first_seen_at", "first_touch_at"):
        setattr(kept, field, _parse(before[field]))
    kept.first_touchpoint = before["first_touchpoint"]
    kept.owner_id, kept.store_id = before["owner_id"], before["store_id"]


def _has_strong_identity(session: Session, customer_id: int) -> bool:
    strong = select(func.count(Identity.id)).where(
        Identity.customer_id == customer_id, Identity.type != "anonymous_id"
    )
    return session.execute(strong).scalar_one() > 0


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
