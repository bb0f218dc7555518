"""Routing a new contact to a guide: weights, schedules, daily limits, backups and capacity."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from siyu.codes.service import create_code, routing_of
from siyu.customers.models import Customer
from siyu.staff.routing import Route, capacity_warnings, record_add, route_contact
from siyu.staff.service import create_staff, ensure_staff, update_staff

# Monday 2026-11-23 10:00 in Shanghai.
MONDAY_10 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def _guides(session, *names):
    return [create_staff(session, n, "guide", wecom_userid=n) for n in names]


def _route_many(session, code, times: int, at=MONDAY_10) -> Counter:
    seen = Counter()
    for _ in range(times):
        guide = route_contact(session, routing_of(session, code), at)
        if guide is None:
            seen[None] += 1
            continue
        record_add(session, guide.id, at)
        seen[guide.name] += 1
    return seen


def test_weights_share_new_contacts(session):
    a, b = _guides(session, "a", "b")
    code = create_code(session, "c", routes=[Route(a.id, weight=3), Route(b.id, weight=1)])
    assert _route_many(session, code, 40) == {"a": 30, "b": 10}


def test_daily_limit_then_backup_then_nobody(session):
    a, b = _guides(session, "a", "b")
    code = create_code(
        session,
        "c",
        routes=[Route(a.id, daily_limit=2), Route(b.id, is_backup=True, daily_limit=1)],
    )
    assert _route_many(session, code, 4) == {"a": 2, "b": 1, None: 1}
    # The next brand day starts afresh.
    tuesday = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    assert route_contact(session, routing_of(session, code), tuesday).name == "a"


def test_schedules_follow_brand_time(session):
    day, night = _guides(session, "day", "night")
    code = create_code(
        session,
        "c",
        routes=[
            Route(day.id, weekdays="12345", start_time="09:00", end_time="21:00"),
            Route(night.id, start_time="21:00", end_time="09:00"),
        ],
    )
    assert route_contact(session, routing_of(session, code), MONDAY_10).name == "day"
    monday_22 = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    assert route_contact(session, routing_of(session, code), monday_22).name == "night"
    saturday_10 = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
    assert route_contact(session, routing_of(session, code), saturday_10) is None


def test_a_full_persona_account_gets_no_more_and_warns_at_80_percent(session):
    persona, backup = _guides(session, "persona", "backup")
    update_staff(session, persona.id, role="persona", contact_limit=5)
    code = create_code(session, "c", routes=[Route(persona.id), Route(backup.id, is_backup=True)])
    session.add_all([Customer(traits={}, owner_id=persona.id) for _ in range(4)])
    session.flush()
    assert route_contact(session, routing_of(session, code), MONDAY_10).name == "persona"
    assert [(w.name, w.contacts, w.limit) for w in capacity_warnings(session)] == [
        ("persona", 4, 5)
    ]
    session.add(Customer(traits={}, owner_id=persona.id))
    session.flush()
    assert route_contact(session, routing_of(session, code), MONDAY_10).name == "backup"


def test_a_code_without_routing_goes_to_its_guide_unless_they_left(session):
    (guide,) = _guides(session, "g")
    code = create_code(session, "c", staff_id=guide.id)
    assert route_contact(session, routing_of(session, code), MONDAY_10).id == guide.id
    update_staff(session, guide.id, status="left")
    assert route_contact(session, routing_of(session, code), MONDAY_10) is None


def test_an_unknown_guide_in_a_callback_becomes_staff_once(session):
    created = ensure_staff(session, "zhangsan")
    assert (created.name, created.role, created.needs_sync) == ("zhangsan", "guide", True)
    assert ensure_staff(session, "zhangsan").id == created.id
    known = create_staff(session, "李四", "guide", wecom_userid="lisi")
    assert ensure_staff(session, "lisi").id == known.id
