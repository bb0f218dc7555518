"""A guide's workbench (导购工作台): each customer of a task as a card (tags, latest orders, notes,
the phone and the WeCom contact to reach them), and what a guide writes on it: a note, a tag.

Notes and tags a guide adds are the brand's doing: they write no event and move no customer
time, so no activity, lifecycle or RFM number counts them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core.errors import InvalidInput
from siyu.core.i18n import N_
from siyu.customers.models import Customer, Identity
from siyu.customers.service import find_visible_customer
from siyu.orders.models import Order
from siyu.tags import service as tags
from siyu.tasks.models import CustomerNote

CHUNK = 500
NOTE_MAX = 1000
LATEST_ORDERS = 3
LATEST_NOTES = 3


@dataclass
class CustomerCard:
    """What a guide needs beside a customer to act on a task: who, how to reach, what we know."""

    customer_id: int
    name: str | None = None
    phone: str | None = None
    wecom_contact: str | None = None  # the external_userid, to open the chat inside WeCom
    tags: list[dict] = field(default_factory=list)
    orders: list[dict] = field(default_factory=list)  # the latest, newest first
    notes: list[CustomerNote] = field(default_factory=list)  # the latest, newest first


def cards(session: Session, customers: Sequence[Customer]) -> dict[int, CustomerCard]:
    """A card per customer, read in a few queries for the whole list."""
    return named_cards(session, {c.id: (c.traits or {}).get("name") for c in customers})


def named_cards(session: Session, names: dict[int, str | None]) -> dict[int, CustomerCard]:
    """A card per customer id (with the name already known)."""
    found = {
        customer_id: CustomerCard(customer_id, name=name) for customer_id, name in names.items()
    }
    ids = list(found)
    for customer_id, tag_list in tags.tags_of(session, ids).items():
        found[customer_id].tags = tag_list
    for customer_id, kind, value in _identities(session, ids):
        card = found[customer_id]
        if kind == "phone" and card.phone is None:
            card.phone = value
        elif kind == "wecom_external_userid" and card.wecom_contact is None:
            card.wecom_contact = value
    for order in _latest_orders(session, ids):
        found[order["customer_id"]].orders.append(order)
    for note in _latest_notes(session, ids):
        found[note.customer_id].notes.append(note)
    return found


def _identities(session: Session, ids: list[int]) -> list[tuple[int, str, str]]:
    rows: list[tuple[int, str, str]] = []
    for start in range(0, len(ids), CHUNK):
        rows += session.execute(
            select(Identity.customer_id, Identity.type, Identity.value)
            .where(Identity.customer_id.in_(ids[start : start + CHUNK]))
            .order_by(Identity.id)
        ).all()
    return rows


def _latest_orders(session: Session, ids: list[int]) -> list[dict]:
    """Each customer's LATEST_ORDERS latest paid orders, newest first."""
    rows = []
    for start in range(0, len(ids), CHUNK):
        rank = (
            func.row_number()
            .over(partition_by=Order.customer_id, order_by=(Order.paid_at.desc(), Order.id.desc()))
            .label("rank")
        )
        ranked = (
            select(
                Order.customer_id,
                Order.order_id,
                Order.status,
                Order.amount_fen,
                Order.refunded_fen,
                Order.paid_at,
                rank,
            )
            .where(Order.customer_id.in_(ids[start : start + CHUNK]), Order.paid_at.is_not(None))
            .subquery()
        )
        query = (
            select(ranked)
            .where(ranked.c.rank <= LATEST_ORDERS)
            .order_by(ranked.c.customer_id, ranked.c.rank)
        )
        rows += [dict(row._mapping) for row in session.execute(query)]
    return rows


def _latest_notes(session: Session, ids: list[int]) -> list[CustomerNote]:
    """Each customer's LATEST_NOTES latest notes, newest first (the older ones stay unread)."""
    notes: list[CustomerNote] = []
    for start in range(0, len(ids), CHUNK):
        rank = (
            func.row_number()
            .over(partition_by=CustomerNote.customer_id, order_by=CustomerNote.id.desc())
            .label("rank")
        )
        ranked = (
            select(CustomerNote.id, rank)
            .where(CustomerNote.customer_id.in_(ids[start : start + CHUNK]))
            .subquery()
        )
        notes += session.scalars(
            select(CustomerNote)
            .join(ranked, ranked.c.id == CustomerNote.id)
            .where(ranked.c.rank <= LATEST_NOTES)
            .order_by(CustomerNote.customer_id, CustomerNote.id.desc())
        )
    return notes


def add_note(
    session: Session,
    customer_id: int,
    body: str,
    author: str,
    *,
    role: str,
    staff_id: int | None,
    at: datetime | None = None,
) -> CustomerNote:
    """A note on a customer this user may see (a guide: one they own)."""
    customer = find_visible_customer(session, customer_id, role, staff_id)
    body = body.strip()
    if not body:
        raise InvalidInput(N_("write the note first"), field="body")
    if len(body) > NOTE_MAX:
        raise InvalidInput(N_("a note is at most 1,000 characters"), field="body")
    note = CustomerNote(customer_id=customer.id, staff_id=staff_id, author=author, body=body)
    if at is not None:
        note.created_at = at
    session.add(note)
    session.flush()
    return note


def tag_customer(
    session: Session, customer_id: int, name: str, actor: str, *, role: str, staff_id: int | None
) -> int:
    """Tag a customer this user may see by the tag's name (made in "other" when new); returns
    the tag's id. A rule's tag is refused: the rule keeps it."""
    customer = find_visible_customer(session, customer_id, role, staff_id)
    tag = tags.ensure_tag(session, name, "other")
    tags.tag_customer(session, customer.id, tag.id, source="manual", actor=actor)
    return tag.id


def notes_of(session: Session, customer_id: int, limit: int = 50) -> list[CustomerNote]:
    """A customer's notes, newest first."""
    return list(
        session.scalars(
            select(CustomerNote)
            .where(CustomerNote.customer_id == customer_id)
            .order_by(CustomerNote.id.desc())
            .limit(limit)
        )
    )
