"""Creating channel codes and finding them by their code (the landing path / WeCom state)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from siyu.codes import service
from siyu.core.errors import Conflict, InvalidInput, NotFound
from siyu.staff.routing import Route
from siyu.staff.service import create_staff, create_store
from siyu.touchpoints.models import Touchpoint


def test_a_code_without_a_touchpoint_registers_its_own(session):
    store = create_store(session, "cs-1", "五一广场店")
    code = service.create_code(
        session,
        "五一广场店 收银台海报",
        code="cs1-poster",
        kind="poster",
        store_id=store.id,
        target_kind="wecom_contact_way",
        target="https://work.weixin.qq.com/ca/cawcde",
        tag_names=["门店海报", " 门店海报 ", "新客"],
        welcome_message="欢迎来到山茶",
    )
    touchpoint = session.get(Touchpoint, code.touchpoint_id)
    assert (touchpoint.code, touchpoint.group, touchpoint.store_id) == (
        "cs1-poster",
        "poster",
        store.id,
    )
    assert code.tag_names == ["门店海报", "新客"]
    assert service.find_code(session, "cs1-poster").id == code.id
    assert service.find_code(session, "nope") is None


def test_codes_of_one_touchpoint_share_it(session):
    first = service.create_code(session, "A", code="a-1", touchpoint="spring-poster")
    second = service.create_code(session, "B", code="a-2", touchpoint="spring-poster")
    assert first.touchpoint_id == second.touchpoint_id
    assert session.scalars(select(Touchpoint.code)).all() == ["spring-poster"]


def test_a_taken_or_malformed_code_is_refused_by_field(session):
    service.create_code(session, "A", code="taken")
    with pytest.raises(Conflict) as taken:
        service.create_code(session, "B", code="taken")
    assert taken.value.field == "code"
    with pytest.raises(InvalidInput) as bad:
        service.create_code(session, "C", code="has space")
    assert bad.value.field == "code"
    with pytest.raises(InvalidInput) as kind:
        service.create_code(session, "D", kind="billboard")
    assert kind.value.field == "kind"
    with pytest.raises(NotFound):
        service.create_code(session, "E", staff_id=404)


def test_routing_is_replaced_and_checked(session):
    a = create_staff(session, "甲", "guide", wecom_userid="a")
    b = create_staff(session, "乙", "guide", wecom_userid="b")
    code = service.create_code(session, "A", routes=[Route(a.id, weight=3), Route(b.id)])
    assert [(r.staff_id, r.weight) for r in service.routes_of(session, code.id)] == [
        (a.id, 3),
        (b.id, 1),
    ]
    service.set_routes(session, code, [Route(b.id, is_backup=True)])
    assert [(r.staff_id, r.is_backup) for r in service.routes_of(session, code.id)] == [
        (b.id, True)
    ]
    with pytest.raises(InvalidInput) as bad_time:
        service.set_routes(session, code, [Route(a.id, start_time="9am")])
    assert bad_time.value.field == "start_time"


def test_a_code_made_for_you_reads_as_what_it_is_whose_and_the_week(session):
    store = create_store(session, "SH01", "静安店")
    guide = create_staff(session, "张导购", wecom_userid="Zhang.Wei")
    made = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)  # Wednesday of ISO week 49
    assert service.new_code(session, "store", store.id, now=made) == "store-sh01-2026w49"
    assert service.new_code(session, "guide", None, guide.id, made) == "guide-zhang-wei-2026w49"
    assert service.new_code(session, "product_item", now=made) == "item-2026w49"
    nameless = create_staff(session, "李导购")
    assert service.new_code(session, "guide", None, nameless.id, made) == (
        f"guide-g{nameless.id}-2026w49"
    )


def test_a_made_code_never_takes_a_code_or_touchpoint_that_exists(session):
    store = create_store(session, "sh01", "静安店")
    first = service.create_code(session, "收银台", kind="store", store_id=store.id)
    second = service.create_code(session, "门口", kind="store", store_id=store.id)
    assert second.code == f"{first.code}-2"
    assert first.code.startswith("store-sh01-20")
    week = first.code.removeprefix("store-sh01-")
    service.create_code(session, "海报", code="elsewhere", touchpoint=f"poster-{week}")
    assert service.create_code(session, "新海报", kind="poster").code == f"poster-{week}-2"


def test_a_made_code_names_one_owner_its_store_or_for_a_guides_code_the_guide(session):
    store = create_store(session, "sh01", "静安店")
    guide = create_staff(session, "张导购", store_id=store.id, wecom_userid="zhang")
    made = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
    assert service.new_code(session, "store", store.id, guide.id, made) == "store-sh01-2026w49"
    assert service.new_code(session, "guide", store.id, guide.id, made) == "guide-zhang-2026w49"
    assert service.new_code(session, "poster", None, guide.id, made) == "poster-zhang-2026w49"
