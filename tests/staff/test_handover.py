"""Handing a guide's customers over: every customer moved, recorded, and never unowned."""

from __future__ import annotations

from sqlalchemy import func, select

from siyu.core.audit import AuditEntry
from siyu.customers.models import Customer, Identity
from siyu.staff.handover import hand_over, pool, record_transfer_result, retry_pool
from siyu.staff.models import HandoverMove, Staff
from siyu.staff.service import create_staff, create_store


def _customers(session, owner: Staff, count: int, store_id=None) -> list[Customer]:
    made = [Customer(traits={}, owner_id=owner.id, store_id=store_id) for _ in range(count)]
    session.add_all(made)
    session.flush()
    for c in made:
        session.add(Identity(type="wecom_external_userid", value=f"wm{c.id}", customer_id=c.id))
    session.flush()
    return made


def _owners(session, customers) -> list[int]:
    return [session.get(Customer, c.id).owner_id for c in customers]


def test_a_leaving_guide_hands_every_customer_over_least_loaded(session):
    leaving, a, b = (create_staff(session, n, wecom_userid=n) for n in ("leaving", "a", "b"))
    _customers(session, a, 3)
    moved = _customers(session, leaving, 5)
    handover = hand_over(session, leaving.id, "least_loaded", "leaving", "user:boss")
    owners = _owners(session, moved)
    # b starts empty, a holds 3: b takes four, then they alternate.
    assert sorted(owners).count(b.id) == 4 and owners.count(a.id) == 1
    moves = session.scalars(select(HandoverMove).where(HandoverMove.handover_id == handover.id))
    assert {(m.customer_id, m.status) for m in moves} == {(c.id, "succeeded") for c in moved}
    audited = session.scalar(
        select(func.count(AuditEntry.id)).where(
            AuditEntry.entity == "handover_moves", AuditEntry.actor == "user:boss"
        )
    )
    assert audited == 5
    assert session.get(Staff, leaving.id).status == "left"


def test_round_robin_by_store_and_explicit(session):
    north, south = create_store(session, "n", "北店"), create_store(session, "s", "南店")
    mover = create_staff(session, "mover", store_id=north.id, wecom_userid="m")
    n1 = create_staff(session, "n1", store_id=north.id, wecom_userid="n1")
    s1 = create_staff(session, "s1", store_id=south.id, wecom_userid="s1")
    in_south = _customers(session, mover, 2, south.id)
    hand_over(session, mover.id, "by_store", "moving", "cli")
    assert _owners(session, in_south) == [s1.id, s1.id]
    assert session.get(Staff, mover.id).status == "active"
    back = _customers(session, mover, 4)
    hand_over(session, mover.id, "round_robin", "moving", "cli")
    assert _owners(session, back) == [n1.id, s1.id, n1.id, s1.id]
    last = _customers(session, mover, 2)
    hand_over(session, mover.id, s1.id, "moving", "cli")
    assert _owners(session, last) == [s1.id, s1.id]


def test_with_wecom_moves_wait_fail_into_the_pool_and_are_retried(session, monkeypatch):
    monkeypatch.setenv("SIYU_WECOM_CORP_ID", "corp")
    monkeypatch.setenv("SIYU_WECOM_SECRET", "secret")
    from siyu.core.settings import reset_settings

    reset_settings()
    leaving, a, b = (create_staff(session, n, wecom_userid=n) for n in ("leaving", "a", "b"))
    first, second = _customers(session, leaving, 2)
    hand_over(session, leaving.id, a.id, "leaving", "cli")
    # Until WeCom answers, the leaving guide still owns them: nobody is ever unowned.
    assert _owners(session, [first, second]) == [leaving.id, leaving.id]
    record_transfer_result(session, f"wm{first.id}", "a", 1)
    refused = record_transfer_result(session, f"wm{second.id}", "a", "refused")
    assert _owners(session, [first, second]) == [a.id, leaving.id]
    assert [m.id for m in pool(session)] == [refused.id]
    # Replaying a result changes nothing.
    assert record_transfer_result(session, f"wm{first.id}", "a", 1) is None
    (retry,) = retry_pool(session, "cli")
    assert (retry.to_staff_id, retry.attempt, retry.status) == (b.id, 2, "pending")
    assert pool(session) == []
    record_transfer_result(session, f"wm{second.id}", "b", "succeeded")
    assert _owners(session, [first, second]) == [a.id, b.id]
