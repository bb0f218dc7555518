"""Stores, staff and customer owners (the staff service the demo builds its guides with)."""

from __future__ import annotations

import pytest

from siyu.core.errors import InvalidInput, NotFound
from siyu.customers.models import Customer, Identity
from siyu.staff import service


def _customer(session, phone: str) -> Customer:
    customer = Customer(traits={})
    session.add(customer)
    session.flush()
    session.add(Identity(type="phone", value=phone, customer_id=customer.id))
    session.flush()
    return customer


def test_creating_a_store_or_staff_twice_updates_the_one_there(session):
    store = service.create_store(session, "cs-wuyi", "五一广场店", "长沙")
    again = service.create_store(session, "cs-wuyi", "五一广场旗舰店", "长沙")
    assert again.id == store.id and again.name == "五一广场旗舰店"
    guide = service.create_staff(session, "刘晓雯", "guide", store.id, "cs-wuyi-g1")
    moved = service.create_staff(session, "刘晓雯", "manager", store.id, "cs-wuyi-g1")
    assert moved.id == guide.id and moved.role == "manager"
    assert service.staff_by_wecom(session) == {"cs-wuyi-g1": guide.id}


def test_staff_needs_a_known_role_and_store(session):
    with pytest.raises(InvalidInput):
        service.create_staff(session, "某人", "boss")
    with pytest.raises(NotFound):
        service.create_staff(session, "某人", "guide", store_id=999)


def test_an_owner_gives_the_customer_their_store(session):
    store = service.create_store(session, "wh-chuhe", "楚河汉街店", "武汉")
    guide = service.create_staff(session, "朱晨曦", "guide", store.id, "wh-chuhe-g1")
    customer = _customer(session, "13912345678")
    service.assign_owner(session, customer.id, guide.id)
    assert (customer.owner_id, customer.store_id) == (guide.id, store.id)


def test_owning_a_merged_customer_changes_the_one_it_went_into(session):
    guide = service.create_staff(session, "山茶小茶", "persona", wecom_userid="persona")
    kept, merged = _customer(session, "13912345678"), _customer(session, "13712345678")
    merged.merged_into_id = kept.id
    assert service.assign_owner(session, merged.id, guide.id) is kept
    assert kept.owner_id == guide.id and merged.owner_id is None


def test_owners_are_set_by_any_identity_and_unknown_ones_are_skipped(session):
    guide = service.create_staff(session, "王雨萱", "guide", wecom_userid="wh-jianghan-g1")
    customer = _customer(session, "13812345678")
    changed = service.assign_owners(
        session, {("phone", "13812345678"): guide.id, ("phone", "13000000001"): guide.id}
    )
    assert changed == 1 and customer.owner_id == guide.id
