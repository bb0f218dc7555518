"""Tiered prices (阶梯价): a product whose price steps down as participants grow (10 → ¥99,
50 → ¥89, 100 → ¥79). Each participant pays the price for the count with them in it; when the
activity closes (by the operator, or at its end) the final count sets the final price, and each
who paid more is owed the difference, which Siyu emits as a refund for the mall to make.

The count moves by one conditional statement, `UPDATE … SET participants = participants + 1
WHERE status = 'active' AND … RETURNING participants`, so every participant gets a place of
their own and the price that goes with it; closing is a conditional update on the status, so
an activity closes once and its refunds are emitted once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.core.db import insert_for, table_of, utcnow
from siyu.core.errors import Conflict, InvalidInput, NotFound
from siyu.core.i18n import N_
from siyu.promotions import activities, refunds
from siyu.promotions.activities import (
    Happened,
    check_activity,
    check_price,
    check_range,
    not_live,
    order_id,
    order_used,
    payer,
    record,
)
from siyu.promotions.models import TieredParticipant, TieredPrice

JOINED = "Tiered Price Joined"
CLOSE_KIND = "promotions.tiered_close"
MAX_TIERS = 20
MAX_PARTICIPANTS = 10_000_000
OPEN = ("active", "paused")  # not closed yet: a paused one closes at its end too


def create_tiered(
    session: Session,
    key: str,
    name: str,
    product: str,
    base_price_fen: int,
    tiers: Sequence[tuple[int, int]],
    starts_at: datetime,
    ends_at: datetime,
    actor: str = "",
) -> TieredPrice:
    """A new tiered-price activity; `tiers` are (least participants, price in fen)."""
    check_price(base_price_fen, "base_price")
    steps = checked_tiers(base_price_fen, tiers)
    described = check_activity(session, TieredPrice, key, name, product, starts_at, ends_at)
    activity = TieredPrice(
        key=key,
        name=described.name,
        product=described.product,
        base_price_fen=base_price_fen,
        tiers=steps,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=actor,
    )
    activities.add_activity(session, activity)
    return activity


def checked_tiers(base_price_fen: int, tiers: Sequence[tuple[int, int]]) -> list[list[int]]:
    """The tiers in order of their counts; each count above the last, each price below it (and
    below the base price)."""
    if not 1 <= len(tiers) <= MAX_TIERS:
        raise InvalidInput(N_("give 1 to 20 tiers"), field="tiers")
    steps = sorted([int(least), int(price)] for least, price in tiers)
    last_least, last_price = 0, base_price_fen
    for least, price in steps:
        check_range(least, 1, MAX_PARTICIPANTS, "tiers")
        check_price(price, "tiers")
        if least == last_least or price >= last_price:
            raise InvalidInput(
                N_("each tier needs more participants and a lower price than the one before"),
                field="tiers",
            )
        last_least, last_price = least, price
    return steps


def price_for(activity: TieredPrice, count: int) -> int:
    """The price when `count` take part: the tier with the most participants reached."""
    price = activity.base_price_fen
    for least, tier_price in activity.tiers:
        if count >= least:
            price = tier_price
    return price


def next_tier(activity: TieredPrice) -> dict[str, Any] | None:
    """The first tier not reached yet, with how many more it needs."""
    for least, price in activity.tiers:
        if activity.participants < least:
            return {
                "participants": least,
                "price": price / 100,
                "price_fen": price,
                "needed": least - activity.participants,
            }
    return None


def find_tiered(session: Session, key: str) -> TieredPrice:
    activity = session.scalar(select(TieredPrice).where(TieredPrice.key == key))
    if activity is None:
        raise NotFound(
            N_("no tiered-price activity has the key %(key)s"), field="key", params={"key": key}
        )
    return activity


def list_tiered(session: Session, limit: int = 200) -> list[TieredPrice]:
    return list(session.scalars(select(TieredPrice).order_by(TieredPrice.id.desc()).limit(limit)))


def is_live(activity: TieredPrice, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return activity.status == "active" and activity.starts_at <= now < activity.ends_at


# --- joining and closing -------------------------------------------------------------------------


def join(
    session: Session, key: str, customer_ref: str | int, order: str, now: datetime | None = None
) -> TieredParticipant:
    """The customer takes part with the mall's order; their place in the count sets the price
    the mall charges them. A customer takes part once."""
    now = now or utcnow()
    activity = find_tiered(session, key)
    _check_live(activity, now)  # as last committed: spares the writes
    customer, order = payer(session, customer_ref), order_id(order)
    table = table_of(TieredParticipant)
    added = (
        insert_for(session, table)
        .values(activity_id=activity.id, customer_id=customer.id, order_id=order, joined_at=now)
        .on_conflict_do_nothing()
        .returning(table.c.id)
    )
    participant_id = session.scalar(added)
    if participant_id is None:
        joined = takes_part(session, activity, customer.id)
        raise _already_joined() if joined else order_used(order)
    place = session.scalar(
        update(TieredPrice)
        .where(
            TieredPrice.id == activity.id,
            TieredPrice.status == "active",
            TieredPrice.starts_at <= now,
            TieredPrice.ends_at > now,
        )
        .values(participants=TieredPrice.participants + 1)
        .returning(TieredPrice.participants)
        .execution_options(synchronize_session=False)
    )
    session.refresh(activity)
    if place is None:  # closed since it was read: the place is rolled back
        _check_live(activity, now)
        raise not_live(key)
    participant = session.get_one(TieredParticipant, participant_id)
    participant.place, participant.price_fen = place, price_for(activity, place)
    session.flush()
    record(session, JOINED, now, [_joined(activity, participant)])
    return participant


def _check_live(activity: TieredPrice, now: datetime) -> None:
    if activity.status == "closed":
        raise Conflict(N_("the activity is closed"), code="closed", field="key")
    if not is_live(activity, now):
        raise not_live(activity.key)


def _already_joined() -> Conflict:
    return Conflict(N_("the customer takes part already"), code="already_joined", field="customer")


def takes_part(session: Session, activity: TieredPrice, customer_id: int) -> bool:
    """Whether the customer has a place in the activity."""
    found = select(TieredParticipant.id).where(
        TieredParticipant.activity_id == activity.id,
        TieredParticipant.customer_id == customer_id,
    )
    return session.scalar(found) is not None


def pause(session: Session, key: str) -> TieredPrice:
    """No one joins until it is resumed; the count and the prices paid stay."""
    return _move(session, key, "paused", frm=("active", "paused"))


def resume(session: Session, key: str) -> TieredPrice:
    return _move(session, key, "active", frm=("active", "paused"))


def _move(session: Session, key: str, status: str, frm: tuple[str, ...]) -> TieredPrice:
    activity = find_tiered(session, key)
    if activity.status not in frm:
        raise Conflict(
            N_("the activity is %(status)s"), field="status", params={"status": activity.status}
        )
    activity.status = status
    session.flush()
    return activity


def close(session: Session, key: str, now: datetime | None = None) -> TieredPrice:
    """Close the activity: the final count sets the final price, and each participant who paid
    more is owed the difference (a refund each, emitted once). A closed one stays as it is."""
    now = now or utcnow()
    activity = find_tiered(session, key)
    _close(session, activity, now)
    return activity


def _close(session: Session, activity: TieredPrice, now: datetime) -> bool:
    """Active → closed, the final price set and the refunds emitted; False when it was closed
    already."""
    count = session.scalar(
        update(TieredPrice)
        .where(TieredPrice.id == activity.id, TieredPrice.status.in_(OPEN))
        .values(status="closed", closed_at=now)
        .returning(TieredPrice.participants)
        .execution_options(synchronize_session=False)
    )
    session.refresh(activity)
    if count is None:
        return False
    final = price_for(activity, count)
    activity.final_price_fen = final
    session.flush()
    paid_more = session.scalars(
        select(TieredParticipant)
        .where(TieredParticipant.activity_id == activity.id, TieredParticipant.price_fen > final)
        .order_by(TieredParticipant.id)
    ).all()
    owed = [refunds.Owed(p.id, p.customer_id, p.order_id, p.price_fen - final) for p in paid_more]
    refunds.issue(session, refunds.TIERED, activity.key, refunds.TIERED_DIFFERENCE, owed, now)
    return True


def close_due(session: Session, now: datetime | None = None) -> int:
    """Close the active activities past their end; how many were closed."""
    now = now or utcnow()
    due = session.scalars(
        select(TieredPrice)
        .where(TieredPrice.status.in_(OPEN), TieredPrice.ends_at <= now)
        .order_by(TieredPrice.id)
    ).all()
    return sum(_close(session, activity, now) for activity in due)


def close_job(session: Session, payload: dict) -> None:
    """Close the tiered-price activities past their end; refund each the difference."""
    close_due(session)


# --- answers and events --------------------------------------------------------------------------


def summary(activity: TieredPrice, now: datetime | None = None) -> dict[str, Any]:
    """The activity, its count and prices: now, for the next to join, and final when closed."""
    final = activity.final_price_fen
    current = price_for(activity, activity.participants)
    to_join = price_for(activity, activity.participants + 1)
    return {
        "key": activity.key,
        "name": activity.name,
        "product": activity.product,
        "base_price": activity.base_price_fen / 100,
        "tiers": [{"participants": n, "price": fen / 100} for n, fen in activity.tiers],
        "participants": activity.participants,
        "current_price": current / 100,
        "current_price_fen": current,
        "price_to_join": to_join / 100,
        "price_to_join_fen": to_join,
        "next_tier": next_tier(activity),
        "final_price": final / 100 if final is not None else None,
        "final_price_fen": final,
        "status": activity.status,
        "live": is_live(activity, now),
        "starts_at": activity.starts_at.isoformat(),
        "ends_at": activity.ends_at.isoformat(),
        "closed_at": activity.closed_at.isoformat() if activity.closed_at else None,
    }


def participant_row(activity: TieredPrice, participant: TieredParticipant) -> dict[str, Any]:
    """A participant as the join answers it: the price is what the mall charges."""
    return {
        "id": participant.id,
        "activity": activity.key,
        "product": activity.product,
        "customer_id": participant.customer_id,
        "order_id": participant.order_id,
        "place": participant.place,
        "price": participant.price_fen / 100,
        "price_fen": participant.price_fen,
        "participants": activity.participants,
        "next_tier": next_tier(activity),
    }


def _joined(activity: TieredPrice, participant: TieredParticipant) -> Happened:
    return Happened(
        f"tiered-price-joined-{participant.id}",
        participant.customer_id,
        {
            "tiered": activity.key,
            "product": activity.product,
            "order_id": participant.order_id,
            "place": participant.place,
            "price": participant.price_fen / 100,
        },
    )
