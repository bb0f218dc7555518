"""Refunds the mall carries out (退款): Siyu works out who is owed what (a failed group's places,
a tiered price's difference), emits one instruction per member or participant, and tracks it
until the mall confirms it with its own reference.

"Exactly once" is the table's: a refund names the group member or tiered participant it is for
under a unique key, and is inserted by `INSERT … ON CONFLICT DO NOTHING RETURNING`, so a second
run of a job (or two at once) emits nothing new; only the rows that were inserted become
`Promotion Refund Issued` events."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.core.db import insert_for, table_of, utcnow
from siyu.core.errors import Conflict, InvalidInput, NotFound
from siyu.core.i18n import N_
from siyu.promotions.activities import Happened, record
from siyu.promotions.models import REFUND_STATUSES, PromotionRefund

ISSUED, CONFIRMED = "Promotion Refund Issued", "Promotion Refund Confirmed"
GROUP_BUY, TIERED = "group_buy", "tiered"
# what the refund is for: a group that did not fill, or a tiered price that came down
GROUP_FAILED, TIERED_DIFFERENCE = "group_failed", "tiered_difference"
CHUNK = 500
MAX_REFERENCE = 128


class Owed(NamedTuple):
    """What one member or participant is owed, and for which order."""

    subject_id: int  # the group member's or the tiered participant's id
    customer_id: int
    order_id: str
    amount_fen: int


def issue(
    session: Session, kind: str, activity: str, reason: str, owed: list[Owed], now: datetime
) -> list[PromotionRefund]:
    """One pending refund for each one owed who has none yet, and a `Promotion Refund Issued`
    event for each refund made; the refunds made (none for those who had one)."""
    subject = "member_id" if kind == GROUP_BUY else "participant_id"
    table = table_of(PromotionRefund)
    made: list[int] = []
    for start in range(0, len(owed), CHUNK):
        rows = [
            {
                "kind": kind,
                subject: o.subject_id,
                "activity": activity,
                "customer_id": o.customer_id,
                "order_id": o.order_id,
                "amount_fen": o.amount_fen,
                "reason": reason,
                "status": "pending",
                "created_at": now,
            }
            for o in owed[start : start + CHUNK]
            if o.amount_fen > 0
        ]
        if rows:
            inserted = insert_for(session, table).values(rows).on_conflict_do_nothing()
            made += session.scalars(inserted.returning(table.c.id)).all()
    refunds = _loaded(session, made)
    record(session, ISSUED, now, [_happened(ISSUED, r) for r in refunds])
    return refunds


def _loaded(session: Session, ids: list[int]) -> list[PromotionRefund]:
    found: list[PromotionRefund] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        found += session.scalars(select(PromotionRefund).where(PromotionRefund.id.in_(chunk)))
    return sorted(found, key=lambda r: r.id)


def _happened(event: str, refund: PromotionRefund) -> Happened:
    prefix = event.lower().replace(" ", "-")
    properties: dict[str, Any] = {
        "refund": refund.id,
        "kind": refund.kind,
        "activity": refund.activity,
        "order_id": refund.order_id,
        "amount": refund.amount_fen / 100,
        "reason": refund.reason,
    }
    if refund.reference:
        properties["reference"] = refund.reference
    return Happened(f"{prefix}-{refund.id}", refund.customer_id, properties)


def find_refund(session: Session, refund_id: int) -> PromotionRefund:
    refund = session.get(PromotionRefund, refund_id)
    if refund is None:
        raise NotFound(
            N_("no refund has the id %(id)s"), field="refund_id", params={"id": refund_id}
        )
    return refund


def list_refunds(
    session: Session,
    status: str | None = None,
    kind: str | None = None,
    after: int = 0,
    limit: int = 200,
) -> list[PromotionRefund]:
    """Refunds in the order they were made, from after the id `after` (a page's last)."""
    if status is not None and status not in REFUND_STATUSES:
        raise InvalidInput(N_("a refund's status is pending or confirmed"), field="status")
    query = select(PromotionRefund).where(PromotionRefund.id > after)
    if status is not None:
        query = query.where(PromotionRefund.status == status)
    if kind is not None:
        query = query.where(PromotionRefund.kind == kind)
    return list(session.scalars(query.order_by(PromotionRefund.id).limit(limit)))


def confirm(
    session: Session, refund_id: int, reference: str | None = None, now: datetime | None = None
) -> PromotionRefund:
    """The mall refunded the order: the refund is confirmed, with the mall's reference. Again
    it changes nothing; with another reference than the one confirmed it is refused."""
    now = now or utcnow()
    refund = find_refund(session, refund_id)
    reference = _reference(reference)
    moved = session.execute(
        update(PromotionRefund)
        .where(PromotionRefund.id == refund.id, PromotionRefund.status == "pending")
        .values(status="confirmed", reference=reference, confirmed_at=now)
        .returning(PromotionRefund.id)
        .execution_options(synchronize_session=False)
    ).first()
    session.refresh(refund)
    if moved is not None:
        record(session, CONFIRMED, now, [_happened(CONFIRMED, refund)])
    elif reference and refund.reference and reference != refund.reference:
        raise Conflict(
            N_("the refund was confirmed with the reference %(reference)s"),
            code="already_confirmed",
            field="reference",
            params={"reference": refund.reference},
        )
    return refund


def _reference(reference: str | None) -> str | None:
    reference = (reference or "").strip()
    if len(reference) > MAX_REFERENCE:
        raise InvalidInput(N_("a reference is at most 128 characters"), field="reference")
    return reference or None


def refund_row(refund: PromotionRefund) -> dict[str, Any]:
    """A refund as the API answers it and `siyu refunds … --json` prints it."""
    return {
        "id": refund.id,
        "kind": refund.kind,
        "activity": refund.activity,
        "customer_id": refund.customer_id,
        "order_id": refund.order_id,
        "amount": refund.amount_fen / 100,
        "amount_fen": refund.amount_fen,
        "reason": refund.reason,
        "status": refund.status,
        "reference": refund.reference,
        "created_at": refund.created_at.isoformat(),
        "confirmed_at": refund.confirmed_at.isoformat() if refund.confirmed_at else None,
    }
