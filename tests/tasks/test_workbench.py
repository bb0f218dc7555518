"""A guide's workbench: cards with what we know of each customer, notes and tags a guide adds
(brand actions: no event, no customer time moved), and closed tasks that stay closed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from siyu.core.db import unit_of_work
from siyu.core.errors import Conflict, InvalidInput, NotFound
from siyu.customers.models import Customer, Identity
from siyu.events.models import OutboxEvent
from siyu.orders.models import Order
from siyu.staff.service import create_staff
from siyu.tags.models import CustomerTag, TagChange
from siyu.tasks import service as tasks
from siyu.tasks import workbench

SEEN = datetime(2026, 11, 1, 8, tzinfo=UTC)


def _brand() -> dict:
    """Guide Zhang owns 王芳 (a phone, a WeCom contact, four orders); Guide Li owns 李娜."""
    with unit_of_work() as s:
        zhang, li = create_staff(s, "导购张"), create_staff(s, "导购李")
        fang = Customer(traits={"name": "王芳"}, owner_id=zhang.id, last_seen_at=SEEN)
        na = Customer(traits={"name": "李娜"}, owner_id=li.id, last_seen_at=SEEN)
        s.add_all([fang, na])
        s.flush()
        s.add_all(
            [
                Identity(type="phone", value="13800008000", customer_id=fang.id),
                Identity(type="wecom_external_userid", value="wm-fang", customer_id=fang.id),
            ]
        )
        s.add_all(
            Order(
                order_id=f"o-{n}",
                customer_id=fang.id,
                source="test",
                status="completed",
                amount_fen=1000 * n,
                paid_at=SEEN - timedelta(days=n),
            )
            for n in range(1, 5)
        )
        task = tasks.create_task(
            s, "回访", date(2026, 12, 10), "test", customer_ids=[fang.id, na.id], now=SEEN
        )
        return {"zhang": zhang.id, "li": li.id, "fang": fang.id, "na": na.id, "task": task.id}


def test_a_card_carries_phone_contact_tags_latest_orders_and_notes(session):
    ids = _brand()
    workbench.add_note(
        session, ids["fang"], "喜欢红色", "user:g", role="guide", staff_id=ids["zhang"]
    )
    workbench.tag_customer(
        session, ids["fang"], "高潜", "user:g", role="guide", staff_id=ids["zhang"]
    )
    card = workbench.cards(session, [session.get(Customer, ids["fang"])])[ids["fang"]]
    assert card.name == "王芳" and card.phone == "13800008000" and card.wecom_contact == "wm-fang"
    assert [t["name"] for t in card.tags] == ["高潜"]
    assert [o["order_id"] for o in card.orders] == ["o-1", "o-2", "o-3"]  # newest three
    assert [n.body for n in card.notes] == ["喜欢红色"]


def test_a_card_shows_each_customers_latest_notes_newest_first(session):
    ids = _brand()
    for n in range(1, 6):
        workbench.add_note(session, ids["fang"], f"fang {n}", "user:g", role="admin", staff_id=None)
    workbench.add_note(session, ids["na"], "na 1", "user:g", role="admin", staff_id=None)
    customers = [session.get(Customer, ids["fang"]), session.get(Customer, ids["na"])]
    found = workbench.cards(session, customers)
    assert [n.body for n in found[ids["fang"]].notes] == ["fang 5", "fang 4", "fang 3"]
    assert [n.body for n in found[ids["na"]].notes] == ["na 1"]


def test_notes_and_tags_by_a_guide_are_not_the_customers_activity(session):
    ids = _brand()
    events_before = session.scalar(select(func.count()).select_from(OutboxEvent))
    workbench.add_note(
        session, ids["fang"], "想要新款", "user:g", role="guide", staff_id=ids["zhang"]
    )
    workbench.tag_customer(
        session, ids["fang"], "回头客", "user:g", role="guide", staff_id=ids["zhang"]
    )
    session.commit()
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(OutboxEvent)) == events_before
    assert session.get(Customer, ids["fang"]).last_seen_at == SEEN
    change = session.scalar(select(TagChange))
    assert change.actor == "user:g" and change.source == "manual"


def test_a_guide_cannot_note_or_tag_another_guides_customer(session):
    ids = _brand()
    with pytest.raises(NotFound):
        workbench.add_note(session, ids["na"], "x", "user:g", role="guide", staff_id=ids["zhang"])
    with pytest.raises(NotFound):
        workbench.tag_customer(
            session, ids["na"], "x", "user:g", role="guide", staff_id=ids["zhang"]
        )
    assert session.scalar(select(func.count()).select_from(CustomerTag)) == 0


@pytest.mark.parametrize(("body", "field"), [("   ", "body"), ("长" * 1001, "body")])
def test_an_empty_or_overlong_note_is_refused_naming_the_field(session, body, field):
    ids = _brand()
    with pytest.raises(InvalidInput) as refused:
        workbench.add_note(session, ids["fang"], body, "u", role="guide", staff_id=ids["zhang"])
    assert refused.value.field == field


def test_a_closed_task_cannot_be_marked_done(session):
    ids = _brand()
    tasks.close_task(session, ids["task"])
    with pytest.raises(Conflict) as refused:
        tasks.mark_done(session, ids["task"], ids["fang"], guide_id=ids["zhang"])
    assert refused.value.field == "task_id"
    assignment, _ = tasks.assignment_of(session, ids["task"], ids["fang"])
    assert assignment.done_at is None
