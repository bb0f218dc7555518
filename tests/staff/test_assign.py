"""Giving customers a guide by hand, without WeCom: one, a segment, a list; stores and staff."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from siyu.cli import app
from siyu.core.auth import create_token
from siyu.core.db import unit_of_work
from siyu.core.errors import Conflict, InvalidInput
from siyu.customers.models import Customer, Identity
from siyu.customers.service import read_list
from siyu.profiles import assign as assignment
from siyu.segments.models import SegmentMember
from siyu.segments.service import create_segment
from siyu.staff import handover, service
from siyu.staff.models import Handover, HandoverMove

runner = CliRunner()
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _customers(s, n: int, owner_id: int | None = None) -> list[int]:
    made = [Customer(traits={}, owner_id=owner_id) for _ in range(n)]
    s.add_all(made)
    s.flush()
    return [c.id for c in made]


def test_an_assignment_is_recorded_move_by_move_and_skips_what_it_cannot_move():
    with unit_of_work() as s:
        store = service.create_store(s, "cs-01", "五一广场店")
        old = service.create_staff(s, "导购旧", store_id=None)
        new = service.create_staff(s, "导购新", store_id=store.id)
        owned, free, theirs = _customers(s, 2, old.id), _customers(s, 1), _customers(s, 1, new.id)
        kept, gone = _customers(s, 2)
        s.get_one(Customer, gone).merged_into_id = kept
        done = handover.assign_customers(
            s, [*owned, *free, *theirs, gone, kept, 99_999], new.id, "user:ops@brand"
        )
        assert done.moved == 4
        assert done.skipped == {"already_theirs": 1, "repeated": 1, "not_found": 1}
        made = s.get_one(Handover, done.handover_id)
        assert (made.reason, made.from_staff_id, made.actor) == ("assign", None, "user:ops@brand")
        moves = s.scalars(select(HandoverMove).where(HandoverMove.handover_id == made.id)).all()
        assert sorted((m.customer_id, m.from_staff_id, m.status) for m in moves) == sorted(
            [(c, old.id, "succeeded") for c in owned]
            + [(free[0], None, "succeeded"), (kept, None, "succeeded")]
        )
        moved = s.scalars(select(Customer).where(Customer.id.in_([*owned, *free, kept]))).all()
        assert {(c.owner_id, c.store_id) for c in moved} == {(new.id, store.id)}


def test_only_unowned_leaves_customers_with_an_active_guide_be_for_a_segment_and_a_list():
    with unit_of_work() as s:
        kept, gone = service.create_staff(s, "在职"), service.create_staff(s, "离职", status="left")
        new = service.create_staff(s, "导购新")
        guided, orphaned, free = (
            _customers(s, 1, kept.id),
            _customers(s, 1, gone.id),
            _customers(s, 1),
        )
        segment = create_segment(s, "all", "All", {"tag": "VIP"})
        members = [*guided, *orphaned, *free]
        s.add_all(
            SegmentMember(segment_id=segment.id, customer_id=c, entered_at=NOW) for c in members
        )
        segment.refreshed_at = NOW
        s.flush()
        done = assignment.assign_segment(s, "all", new.id, "test", only_unowned=True)
        assert (done.moved, done.skipped) == (2, {"has_a_guide": 1})
        assert s.get_one(Customer, guided[0]).owner_id == kept.id
        listed = assignment.assign_list(s, [str(guided[0])], new.id, "test", only_unowned=True)
        assert (listed.moved, listed.skipped) == (0, {"has_a_guide": 1})


def test_a_customer_merged_twice_is_followed_to_the_one_that_stayed():
    with unit_of_work() as s:
        guide = service.create_staff(s, "导购")
        first, middle, last = _customers(s, 3)
        s.get_one(Customer, first).merged_into_id = middle
        s.get_one(Customer, middle).merged_into_id = last
        s.flush()
        done = handover.assign_customers(s, [first, middle], guide.id, "test")
        assert (done.moved, done.skipped) == (1, {"repeated": 1})
        assert s.get_one(Customer, last).owner_id == guide.id


def test_customers_go_only_to_an_active_guide_or_persona():
    with unit_of_work() as s:
        left = service.create_staff(s, "走了", status="left")
        manager = service.create_staff(s, "店长", "manager")
        ids = _customers(s, 1)
        for staff_id in (left.id, manager.id):
            with pytest.raises(InvalidInput) as refused:
                handover.assign_customers(s, ids, staff_id, "test")
            assert refused.value.field == "staff_id"


def test_a_list_names_customers_by_phone_or_id_with_or_without_a_header():
    with unit_of_work() as s:
        ids = _customers(s, 3)
        s.add(Identity(type="phone", value="13800138000", customer_id=ids[0]))
        s.flush()
        found, unknown = _listed(
            s, f"13800138000\n+86 138-0013-8000\n{ids[1]}\n13900000000\nnobody\n\n"
        )
        assert found == [ids[0], ids[0], ids[1]] and unknown == ["13900000000", "nobody"]
        found, unknown = _listed(s, f"customer_id\n{ids[2]}\n")
        assert found == [ids[2]] and unknown == []
        found, unknown = _listed(s, "\ufeff手机号,姓名\n13800138000,张三\n")
        assert found == [ids[0]] and unknown == []


def _listed(s, text: str) -> tuple[list[int], list[str]]:
    return assignment.customers_in_list(s, read_list(text.encode()))


def test_stores_are_validated_by_field_and_codes_stay_unique():
    with unit_of_work() as s:
        service.add_store(s, "cs-01", "五一广场店", "长沙")
        for call, field in (
            (lambda: service.add_store(s, "cs-01", "again"), "code"),
            (lambda: service.add_store(s, "有 空格", "x"), "code"),
            (lambda: service.add_store(s, "cs-02", "  "), "name"),
            (lambda: service.create_staff(s, " "), "name"),
        ):
            with pytest.raises((InvalidInput, Conflict)) as refused:
                call()
            assert refused.value.field == field
        other = service.add_store(s, "cs-02", "坡子街店")
        with pytest.raises(Conflict):
            service.update_store(s, other.id, code="cs-01")
        service.update_store(s, other.id, name="坡子街旗舰店", city="长沙")
        assert (other.name, other.city) == ("坡子街旗舰店", "长沙")


def test_a_brand_without_wecom_sets_up_and_assigns_from_the_cli(session, tmp_path):
    opened = runner.invoke(
        app, ["stores", "add", "cs-01", "五一广场店", "--city", "长沙", "--json"]
    )
    assert opened.exit_code == 0, opened.output
    assert runner.invoke(app, ["stores", "add", "cs-01", "again"]).exit_code == 2
    guide = runner.invoke(app, ["staff", "add", "刘晓雯", "--store", "cs-01", "--json"])
    assert guide.exit_code == 0, guide.output
    guide_id = json.loads(guide.output)["id"]
    assert json.loads(guide.output)["store_id"] == json.loads(opened.output)["id"]
    with unit_of_work() as s:
        ids = _customers(s, 3)
        s.add(Identity(type="phone", value="13800138000", customer_id=ids[0]))
        segment = create_segment(s, "vip", "VIP", {"tag": "VIP"})
        s.add_all(SegmentMember(segment_id=segment.id, customer_id=c, entered_at=NOW) for c in ids)
        segment.refreshed_at = NOW
    listing = tmp_path / "list.csv"
    listing.write_text("phone\n13800138000\n13900000000\n", encoding="utf-8")
    by_file = runner.invoke(
        app, ["customers", "assign", "--guide", str(guide_id), "--file", str(listing), "--json"]
    )
    assert by_file.exit_code == 0, by_file.output
    assert json.loads(by_file.output)["moved"] == 1
    assert json.loads(by_file.output)["skipped"] == {"not_found": 1}
    by_segment = runner.invoke(
        app, ["customers", "assign", "--guide", str(guide_id), "--segment", "vip", "--json"]
    )
    assert json.loads(by_segment.output)["moved"] == 2
    assert json.loads(by_segment.output)["skipped"] == {"already_theirs": 1}
    neither = runner.invoke(app, ["customers", "assign", "--guide", str(guide_id)])
    assert neither.exit_code == 2
    stores = json.loads(runner.invoke(app, ["stores", "list", "--json"]).output)
    assert [(r["code"], r["guides"], r["customers"]) for r in stores] == [("cs-01", 1, 3)]
    moved = runner.invoke(app, ["staff", "set", str(guide_id), "--store", "", "--status", "left"])
    assert moved.exit_code == 0, moved.output
    assert runner.invoke(app, ["stores", "set", "cs-01", "--name", "五一店"]).exit_code == 0
    listed = json.loads(runner.invoke(app, ["staff", "list", "--json"]).output)
    assert (listed[0]["store"], listed[0]["status"]) == (None, "left")


def test_the_api_sets_up_stores_and_staff_and_assigns(client, admin_token):
    with unit_of_work() as s:
        _, analyst = create_token(s, "reader", "analyst")
        ids = _customers(s, 2)
    admin = {"Authorization": f"Bearer {admin_token}"}
    store = client.post("/api/stores", json={"code": "wh-01", "name": "江汉路店"}, headers=admin)
    assert store.status_code == 201, store.text
    again = client.post("/api/stores", json={"code": "wh-01", "name": "x"}, headers=admin)
    assert again.status_code == 409 and again.json()["error"]["field"] == "code"
    guide = client.post(
        "/api/staff", json={"name": "王雨萱", "store_id": store.json()["id"]}, headers=admin
    )
    assert guide.status_code == 201, guide.text
    bad = client.post("/api/staff", json={"name": "x", "role": "boss"}, headers=admin)
    assert bad.status_code in (400, 422) and "role" in bad.text
    assigned = client.post(
        "/api/customers/assign",
        json={"guide_id": guide.json()["id"], "customer_ids": ids},
        headers=admin,
    )
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["moved"] == 2
    left = client.patch(f"/api/staff/{guide.json()['id']}", json={"status": "left"}, headers=admin)
    assert left.json()["status"] == "left"
    reader = {"Authorization": f"Bearer {analyst}"}
    assert client.get("/api/stores", headers=reader).status_code == 200
    assert (
        client.post("/api/stores", json={"code": "a", "name": "b"}, headers=reader).status_code
        == 403
    )
    refused = client.post(
        "/api/customers/assign", json={"guide_id": 1, "customer_ids": ids}, headers=reader
    )
    assert refused.status_code == 403
