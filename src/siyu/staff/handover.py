"""Handovers: 离职继承 (a guide leaves) and 在职转接 (a guide moves on) without losing a customer.

Every customer (and group) of the guide gets a move record to a new owner, chosen least-loaded,
round-robin, by the customer's store, or one explicit guide. The customer keeps the old owner
until the move succeeds, so no customer is ever without an owner. Without WeCom configured the
move succeeds inside Siyu at once; with WeCom, it stays pending until WeCom's transfer result
comes back (`record_transfer_result`). A failed or refused move waits in the pool and is
retried to another guide.

An assignment by hand (`assign_customers`: one customer, a segment's members, a list) is
recorded the same way, as a handover with reason `assign`: one move per customer, from the guide
they had (or none) to the one chosen. It changes the owner inside Siyu at once; it does not move
a WeCom contact (that is what a handover with WeCom is for).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import NamedTuple

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from siyu.core import jobs
from siyu.core.audit import acting_as
from siyu.core.db import utcnow
from siyu.core.errors import InvalidInput, NotFound
from siyu.core.i18n import N_
from siyu.core.limits import is_whole_number
from siyu.core.settings import get_settings
from siyu.customers.models import Customer, Identity
from siyu.staff.models import Handover, HandoverMove, Staff
from siyu.staff.service import _own, owned_by

STRATEGIES = ("least_loaded", "round_robin", "by_store")
REASONS = ("leaving", "moving")
ASSIGN = "assign"
# Why a customer named in an assignment was not moved.
SKIPS = ("already_theirs", "has_a_guide", "not_found", "repeated")
TAKERS = ("guide", "persona")
RETRY_AFTER = timedelta(minutes=10)
# WeCom's transfer_result status codes: 1 taken over, 2 waiting, 3 refused, 4 taker full, 5 none.
WECOM_STATUS = {1: "succeeded", 2: "pending", 3: "refused", 4: "failed", 5: "failed"}


def wecom_is_configured() -> bool:
    settings = get_settings()
    return bool(settings.wecom_corp_id and settings.wecom_secret)


def hand_over(
    session: Session,
    from_staff_id: int,
    strategy: str | int,
    reason: str,
    actor: str,
    *,
    to_staff_ids: Sequence[int] | None = None,
    group_chat_ids: Sequence[str] = (),
) -> Handover:
    """Move every customer (and the given groups) of a guide to others; one move each.

    `strategy` is least_loaded, round_robin, by_store, or a staff id to hand everything to;
    `to_staff_ids` limits who may take over (default: every other active guide or persona).
    """
    source = session.get(Staff, from_staff_id)
    if source is None:
        raise NotFound(f"no staff member {from_staff_id}", field="from_staff_id")
    if reason not in REASONS:
        raise InvalidInput("reason must be leaving or moving", field="reason")
    takers = _takers(session, source, strategy, to_staff_ids)
    with acting_as(actor):
        handover = Handover(
            from_staff_id=source.id, reason=reason, strategy=str(strategy), actor=actor
        )
        session.add(handover)
        session.flush()
        chooser = Chooser(session, takers, strategy)
        customers = _customers_of(session, source.id)
        external = _external_ids(session, [c.id for c in customers])
        for customer in customers:
            target = chooser.choose(customer.store_id)
            _move(session, handover, target, customer=customer, external=external.get(customer.id))
        for chat_id in group_chat_ids:
            _move(session, handover, chooser.choose(source.store_id), group_chat_id=chat_id)
        if reason == "leaving":
            source.status = "left"
        session.flush()
    return handover


def _takers(session, source: Staff, strategy, to_staff_ids) -> list[Staff]:
    if isinstance(strategy, int) or (isinstance(strategy, str) and is_whole_number(strategy)):
        to_staff_ids = [int(strategy)]
    elif strategy not in STRATEGIES:
        raise InvalidInput(
            "strategy must be least_loaded, round_robin, by_store or a staff id", field="strategy"
        )
    query = select(Staff).where(Staff.status == "active", Staff.id != source.id)
    if to_staff_ids is not None:
        query = query.where(Staff.id.in_(list(to_staff_ids)))
    else:
        query = query.where(Staff.role.in_(TAKERS))
    takers = list(session.scalars(query.order_by(Staff.id)))
    if not takers:
        raise InvalidInput("nobody active can take these customers over", field="to_staff_ids")
    return takers


class Chooser:
    """Picks the next owner: by load (customers held plus those moving to them), in turn, or
    among the customer's store's guides first. Accounts at their contact limit are passed over
    while others have room."""

    def __init__(self, session: Session, takers: list[Staff], strategy: str | int):
        self.takers, self.strategy, self.turn = takers, str(strategy), 0
        self.load = _loads(session, [s.id for s in takers])

    def choose(self, store_id: int | None) -> Staff:
        pool = self.takers
        if self.strategy == "by_store":
            pool = [s for s in self.takers if s.store_id == store_id and store_id] or self.takers
        roomy = [s for s in pool if not s.contact_limit or self.load[s.id] < s.contact_limit]
        pool = roomy or pool
        if self.strategy == "round_robin":
            chosen = pool[self.turn % len(pool)]
            self.turn += 1
        else:
            chosen = min(pool, key=lambda s: (self.load[s.id], s.id))
        self.load[chosen.id] += 1
        return chosen


def _loads(session: Session, staff_ids: list[int]) -> dict[int, int]:
    owned = dict(
        session.execute(
            select(Customer.owner_id, func.count(Customer.id))
            .where(Customer.owner_id.in_(staff_ids), Customer.merged_into_id.is_(None))
            .group_by(Customer.owner_id)
        ).all()
    )
    incoming = dict(
        session.execute(
            select(HandoverMove.to_staff_id, func.count(HandoverMove.id))
            .where(HandoverMove.to_staff_id.in_(staff_ids), HandoverMove.status == "pending")
            .group_by(HandoverMove.to_staff_id)
        ).all()
    )
    return {sid: owned.get(sid, 0) + incoming.get(sid, 0) for sid in staff_ids}


def _customers_of(session: Session, staff_id: int) -> list[Customer]:
    return list(
        session.scalars(
            select(Customer)
            .where(Customer.owner_id == staff_id, Customer.merged_into_id.is_(None))
            .order_by(Customer.id)
        )
    )


def _external_ids(session: Session, customer_ids: list[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for start in range(0, len(customer_ids), 500):
        rows = session.execute(
            select(Identity.customer_id, Identity.value).where(
                Identity.type == "wecom_external_userid",
                Identity.customer_id.in_(customer_ids[start : start + 500]),
            )
        )
        for customer_id, value in rows:
            found.setdefault(customer_id, value)
    return found


def _move(
    session: Session,
    handover: Handover,
    target: Staff,
    *,
    customer: Customer | None = None,
    external: str | None = None,
    group_chat_id: str | None = None,
    attempt: int = 1,
) -> HandoverMove:
    move = HandoverMove(
        handover_id=handover.id,
        customer_id=customer.id if customer else None,
        external_userid=external,
        group_chat_id=group_chat_id,
        from_staff_id=handover.from_staff_id,
        to_staff_id=target.id,
        status="pending",
        attempt=attempt,
    )
    session.add(move)
    # Inside Siyu alone a move cannot fail; WeCom must confirm it first when it is configured.
    if not wecom_is_configured() or (customer is not None and not external and not group_chat_id):
        _succeed(session, move, customer, target)
    return move


def _succeed(session: Session, move: HandoverMove, customer: Customer | None, target: Staff):
    move.status, move.finished_at = "succeeded", utcnow()
    if customer is not None:
        _own(customer, target)


def record_transfer_result(
    session: Session, external_userid: str, takeover_wecom_userid: str, status: str | int
) -> HandoverMove | None:
    """Apply WeCom's transfer result for a customer to the pending move it answers.

    `status` is succeeded / failed / refused / pending, or WeCom's code (1 to 5). A success
    makes the taker the owner; a failure or refusal puts the move in the pool for a retry.
    None when no pending move matches (a result already applied, or not ours).
    """
    status = WECOM_STATUS.get(status, status) if isinstance(status, int) else status
    if status not in ("succeeded", "failed", "refused", "pending"):
        raise InvalidInput("status must be succeeded, failed, refused or pending", field="status")
    move = session.scalar(
        select(HandoverMove)
        .join(Staff, Staff.id == HandoverMove.to_staff_id)
        .where(
            HandoverMove.external_userid == external_userid,
            Staff.wecom_userid == takeover_wecom_userid,
            HandoverMove.status == "pending",
        )
        .order_by(HandoverMove.id.desc())
    )
    if move is None or status == "pending":
        return move
    if status == "succeeded":
        customer = session.get(Customer, move.customer_id) if move.customer_id else None
        _succeed(session, move, customer, session.get_one(Staff, move.to_staff_id))
    else:
        move.status, move.finished_at = status, utcnow()
        jobs.enqueue(
            session,
            "staff.retry_handovers",
            jobs.row_key("handover-retry", move.id, move.created_at),
            run_at=utcnow() + RETRY_AFTER,
        )
    session.flush()
    return move


def pool(session: Session) -> list[HandoverMove]:
    """Moves that failed or were refused and wait to be retried."""
    return list(
        session.scalars(
            select(HandoverMove)
            .where(HandoverMove.status.in_(("failed", "refused")), ~HandoverMove.is_retried)
            .order_by(HandoverMove.id)
        )
    )


def pending_moves(session: Session, limit: int = 500) -> list[HandoverMove]:
    """Moves waiting for WeCom (for the WeCom transfer job)."""
    return list(
        session.scalars(
            select(HandoverMove)
            .where(HandoverMove.status == "pending")
            .order_by(HandoverMove.id)
            .limit(limit)
        )
    )


def retry_pool(session: Session, actor: str) -> list[HandoverMove]:
    """Move each pooled customer again, to someone other than who failed; returns new moves.

    The customer still has their previous owner meanwhile, so nobody is ever unowned."""
    waiting = pool(session)
    made = []
    with acting_as(actor):
        for failed in waiting:
            made.append(_retry(session, failed))
        session.flush()
    return [m for m in made if m is not None]


def _retry(session: Session, failed: HandoverMove) -> HandoverMove | None:
    handover = session.get_one(Handover, failed.handover_id)
    tried = set(
        session.scalars(
            select(HandoverMove.to_staff_id).where(
                HandoverMove.handover_id == failed.handover_id,
                HandoverMove.customer_id == failed.customer_id
                if failed.customer_id
                else HandoverMove.group_chat_id == failed.group_chat_id,
            )
        )
    )
    takers = list(
        session.scalars(
            select(Staff).where(
                Staff.status == "active",
                Staff.id != handover.from_staff_id,
                Staff.role.in_(TAKERS),
            )
        )
    )
    fresh = [s for s in takers if s.id not in tried] or takers
    if not fresh:
        return None
    customer = session.get(Customer, failed.customer_id) if failed.customer_id else None
    strategy = handover.strategy if handover.strategy in STRATEGIES else "least_loaded"
    target = Chooser(session, fresh, strategy).choose(customer.store_id if customer else None)
    failed.is_retried = True
    return _move(
        session,
        handover,
        target,
        customer=customer,
        external=failed.external_userid,
        group_chat_id=failed.group_chat_id,
        attempt=failed.attempt + 1,
    )


def retry_job(session: Session, _payload: dict) -> None:
    retry_pool(session, "job:handover-retry")


def handovers(session: Session, limit: int = 50) -> list[Handover]:
    return list(session.scalars(select(Handover).order_by(Handover.id.desc()).limit(limit)))


def moves_of(session: Session, handover_id: int) -> list[HandoverMove]:
    return list(
        session.scalars(
            select(HandoverMove)
            .where(HandoverMove.handover_id == handover_id)
            .order_by(HandoverMove.id)
        )
    )


def move_counts(session: Session, handover_ids: list[int]) -> dict[int, dict[str, int]]:
    rows = session.execute(
        select(HandoverMove.handover_id, HandoverMove.status, func.count(HandoverMove.id))
        .where(HandoverMove.handover_id.in_(handover_ids), ~HandoverMove.is_retried)
        .group_by(HandoverMove.handover_id, HandoverMove.status)
    )
    counts: dict[int, dict[str, int]] = {}
    for handover_id, status, count in rows:
        counts.setdefault(handover_id, {})[status] = count
    return counts


@dataclass
class Assignment:
    """What an assignment did: customers moved, and those skipped by why (with a few examples)."""

    staff_id: int
    handover_id: int | None = None
    moved: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def skip(self, why: str, ref: object) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + 1
        shown = self.examples.setdefault(why, [])
        if len(shown) < 5:
            shown.append(str(ref))

    def as_dict(self) -> dict:
        return {
            "handover_id": self.handover_id,
            "staff_id": self.staff_id,
            "moved": self.moved,
            "skipped": dict(self.skipped),
            "examples": {k: list(v) for k, v in self.examples.items()},
        }


def check_taker(session: Session, staff_id: int, field_name: str = "staff_id") -> Staff:
    """The active guide or persona account customers can be given to."""
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise NotFound(N_("no such staff member"), field=field_name)
    if staff.status != "active":
        raise InvalidInput(N_("this guide has left: choose an active one"), field=field_name)
    if staff.role not in TAKERS:
        raise InvalidInput(
            N_("only a guide or a persona account can look after customers"), field=field_name
        )
    return staff


def assign_customers(
    session: Session,
    customer_ids: Sequence[int],
    staff_id: int,
    actor: str,
    *,
    unknown: Sequence[str] = (),
    only_unowned: bool = False,
) -> Assignment:
    """Give the customers named to one guide: a recorded move each (reason `assign`).

    Merged customers are followed to the customer they became; a customer the guide already
    has, a repeated one and an id that names nobody are skipped and counted by why, as are the
    `unknown` references (list rows that named no customer) the caller passes along. With
    `only_unowned`, customers who have an active guide keep them (skipped as has_a_guide).
    """
    target = check_taker(session, staff_id)
    result = Assignment(staff_id=target.id)
    for ref in unknown:
        result.skip("not_found", ref)
    customers = _survivors(session, customer_ids, result)
    guided = _active_staff(session, {c.owner_id for c in customers}) if only_unowned else set()
    moving = []
    for customer in customers:
        if customer.owner_id == target.id:
            result.skip("already_theirs", customer.id)
        elif customer.owner_id in guided:
            result.skip("has_a_guide", customer.id)
        else:
            moving.append(customer)
    if not moving:
        return result
    with acting_as(actor):
        handover = Handover(from_staff_id=None, reason=ASSIGN, strategy=str(target.id), actor=actor)
        session.add(handover)
        session.flush()
    _record_assignment(session, handover, target, moving)
    result.handover_id, result.moved = handover.id, len(moving)
    return result


def _record_assignment(
    session: Session, handover: Handover, target: Staff, moving: list[Named]
) -> None:
    # In bulk statements (a segment can hold 100,000 customers): the handover and its moves are
    # the record of who gave which customer to whom, from whom, and when.
    now = utcnow()
    for start in range(0, len(moving), 500):
        chunk = moving[start : start + 500]
        session.execute(
            insert(HandoverMove),
            [
                {
                    "handover_id": handover.id,
                    "customer_id": c.id,
                    "from_staff_id": c.owner_id,
                    "to_staff_id": target.id,
                    "status": "succeeded",
                    "attempt": 1,
                    "is_retried": False,
                    "created_at": now,
                    "finished_at": now,
                }
                for c in chunk
            ],
        )
        session.execute(
            update(Customer)
            .where(Customer.id.in_([c.id for c in chunk]))
            .values(**owned_by(target))
            .execution_options(synchronize_session=False)
        )
    session.expire_all()  # customers loaded before see their new guide


class Named(NamedTuple):
    """A customer an assignment names, as far as it needs them."""

    id: int
    owner_id: int | None


def _survivors(session: Session, customer_ids: Sequence[int], result: Assignment) -> list[Named]:
    """The customers named, in order, each once; merged ones followed to their survivor."""
    wanted = list(customer_ids)
    rows = _owners(session, set(wanted))
    # Merges are followed a level at a time for all the customers at once, not one by one.
    while further := {m for _, m in rows.values() if m is not None and m not in rows}:
        rows |= _owners(session, further)
    seen: set[int] = set()
    customers = []
    for customer_id in wanted:
        if customer_id not in rows:
            result.skip("not_found", customer_id)
            continue
        kept = customer_id
        while (merged_into := rows[kept][1]) is not None:
            kept = merged_into
        if kept in seen:
            result.skip("repeated", customer_id)
            continue
        seen.add(kept)
        customers.append(Named(kept, rows[kept][0]))
    return customers


def _owners(session: Session, customer_ids: set[int]) -> dict[int, tuple[int | None, int | None]]:
    """Each customer's guide and the customer it was merged into, by customer id."""
    found: dict[int, tuple[int | None, int | None]] = {}
    ordered = sorted(customer_ids)
    for start in range(0, len(ordered), 500):
        rows = session.execute(
            select(Customer.id, Customer.owner_id, Customer.merged_into_id).where(
                Customer.id.in_(ordered[start : start + 500])
            )
        )
        found.update((i, (owner, merged)) for i, owner, merged in rows)
    return found


def _active_staff(session: Session, staff_ids: set[int | None]) -> set[int]:
    wanted = [s for s in staff_ids if s is not None]
    return set(
        session.scalars(select(Staff.id).where(Staff.id.in_(wanted), Staff.status == "active"))
    )
