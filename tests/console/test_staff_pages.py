"""Guides and handovers in the console."""

from __future__ import annotations

from sqlalchemy import func, select

from siyu.core.db import unit_of_work
from siyu.customers.models import Customer
from siyu.staff.models import Handover, Staff, Store, Team
from tests.console_support import csrf_of, error_beside


def test_a_manager_hands_a_guides_customers_over_from_the_console(signed_in, users, session):
    with unit_of_work() as s:
        s.add_all([Customer(traits={}, owner_id=users["other_staff_id"]) for _ in range(2)])
    client = signed_in("operator")
    page = client.get("/staff/handovers")
    started = client.post(
        "/staff/handovers",
        data={
            "csrf_token": csrf_of(page.text),
            "from_staff_id": str(users["other_staff_id"]),
            "reason": "leaving",
            "strategy": "least_loaded",
        },
        follow_redirects=False,
    )
    assert started.status_code == 303
    detail = client.get(started.headers["location"])
    assert detail.status_code == 200 and 'data-test="moves"' in detail.text
    owners = {c.owner_id for c in session.query(Customer)}
    assert owners == {users["guide_staff_id"]}
    listing = client.get("/staff")
    assert "Guide Li" in listing.text


def test_a_capacity_limit_shows_a_warning(signed_in, users):
    with unit_of_work() as s:
        s.add_all([Customer(traits={}, owner_id=users["guide_staff_id"]) for _ in range(4)])
    client = signed_in("operator")
    page = client.get("/staff")
    saved = client.post(
        f"/staff/{users['guide_staff_id']}",
        data={"csrf_token": csrf_of(page.text), "role": "persona", "contact_limit": "5"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert 'data-test="capacity-warnings"' in client.get("/staff").text


def test_a_bad_contact_limit_is_refused_beside_its_field_in_both_languages(
    signed_in, users, session
):
    guide = users["guide_staff_id"]
    client = signed_in("operator")
    page = client.get("/staff")
    form = {"csrf_token": csrf_of(page.text), "role": "persona", "team": "North"}

    refused = client.post(f"/staff/{guide}", data=form | {"contact_limit": "12a"})
    assert refused.status_code == 400
    assert error_beside(refused.text, "contact_limit") == "请输入整数"
    assert 'value="12a"' in refused.text  # what was typed comes back to be corrected

    client.post("/lang", data={"locale": "en", "next": "/staff", "csrf_token": form["csrf_token"]})
    refused = client.post(f"/staff/{guide}", data=form | {"contact_limit": "-3"})
    assert refused.status_code == 400
    assert error_beside(refused.text, "contact_limit") == "must be at least 0"
    refused = client.post(f"/staff/{guide}", data=form | {"role": "boss", "contact_limit": "3"})
    assert error_beside(refused.text, "role") == "choose one of the listed values"

    session.expire_all()
    staff = session.get(Staff, guide)
    assert (staff.role, staff.contact_limit, staff.team_id) == ("guide", None, None)
    assert session.scalar(select(func.count(Team.id))) == 0


def test_a_bad_handover_is_refused_beside_its_fields_in_both_languages(signed_in, users, session):
    with unit_of_work() as s:
        s.add(Customer(traits={}, owner_id=users["other_staff_id"]))
    client = signed_in("operator")
    page = client.get("/staff/handovers")
    form = {"csrf_token": csrf_of(page.text), "reason": "leaving", "strategy": "least_loaded"}

    refused = client.post("/staff/handovers", data=form | {"to_staff_id": "x"})
    assert refused.status_code == 400
    assert error_beside(refused.text, "from_staff_id") == "此项必填"
    assert error_beside(refused.text, "to_staff_id") == "请输入整数"

    client.post("/lang", data={"locale": "en", "next": "/", "csrf_token": form["csrf_token"]})
    bad = form | {"from_staff_id": str(users["other_staff_id"]), "strategy": "at_random"}
    refused = client.post("/staff/handovers", data=bad)
    assert refused.status_code == 400
    assert error_beside(refused.text, "strategy") == "choose one of the listed values"
    assert f'<option value="{users["other_staff_id"]}" selected>' in refused.text
    assert session.scalar(select(func.count(Handover.id))) == 0
    assert {c.owner_id for c in session.query(Customer)} == {users["other_staff_id"]}


def test_an_operator_without_wecom_opens_a_store_and_adds_a_guide(signed_in, session):
    client = signed_in("operator")
    page = client.get("/staff/stores")
    assert 'data-test="add-store"' in page.text
    token = csrf_of(page.text)
    opened = client.post(
        "/staff/stores",
        data={"csrf_token": token, "code": "cs-wuyi", "name": "五一广场店", "city": "长沙"},
        follow_redirects=False,
    )
    assert opened.status_code == 303
    again = client.post(
        "/staff/stores", data={"csrf_token": token, "code": "cs-wuyi", "name": "又一家"}
    )
    assert again.status_code == 409
    assert error_beside(again.text, "code") == "已有使用此编码的门店"
    bad = client.post("/staff/stores", data={"csrf_token": token, "code": "五一", "name": "x"})
    assert bad.status_code == 400 and error_beside(bad.text, "code")
    store = session.scalar(select(Store).where(Store.code == "cs-wuyi"))
    staff_page = client.get("/staff")
    added = client.post(
        "/staff/new",
        data={"csrf_token": csrf_of(staff_page.text), "name": "刘晓雯", "store_id": str(store.id)},
        follow_redirects=False,
    )
    assert added.status_code == 303
    nameless = client.post(
        "/staff/new", data={"csrf_token": csrf_of(staff_page.text), "name": "", "role": "guide"}
    )
    assert nameless.status_code == 400 and error_beside(nameless.text, "name")
    guide = session.scalar(select(Staff).where(Staff.name == "刘晓雯"))
    assert (guide.store_id, guide.wecom_userid, guide.status) == (store.id, None, "active")
    renamed = client.post(
        f"/staff/stores/{store.id}",
        data={"csrf_token": token, "code": "cs-wuyi", "name": "五一旗舰店", "city": "长沙"},
        follow_redirects=False,
    )
    assert renamed.status_code == 303
    listing = client.get("/staff/stores")
    assert "五一旗舰店" in listing.text and 'data-test="guides">1<' in listing.text


def test_a_guide_is_moved_to_another_store_and_marked_as_left(signed_in, users, session):
    with unit_of_work() as s:
        store = Store(code="wh-01", name="江汉路店")
        s.add(store)
        s.flush()
        store_id = store.id
    client = signed_in("admin")
    page = client.get("/staff")
    changed = client.post(
        f"/staff/{users['other_staff_id']}",
        data={
            "csrf_token": csrf_of(page.text),
            "name": "Guide Li",
            "status": "left",
            "role": "guide",
            "store_id": str(store_id),
        },
        follow_redirects=False,
    )
    assert changed.status_code == 303
    moved = session.get(Staff, users["other_staff_id"])
    assert (moved.status, moved.store_id) == ("left", store_id)


def test_customers_are_assigned_from_a_file_and_one_by_one(signed_in, users, session):
    with unit_of_work() as s:
        made = [Customer(traits={}) for _ in range(3)]
        s.add_all(made)
        s.flush()
        ids = [c.id for c in made]
    client = signed_in("operator")
    page = client.get("/staff/assign")
    listing = f"customer_id\n{ids[0]}\n{ids[1]}\n{ids[1]}\n99999\n".encode()
    done = client.post(
        "/staff/assign",
        data={"csrf_token": csrf_of(page.text), "guide_id": str(users["guide_staff_id"])},
        files={"file": ("list.csv", listing, "text/csv")},
    )
    assert done.status_code == 200, done.text
    assert 'data-test="moved">2<' in done.text
    assert 'data-test="skipped-repeated">1' in done.text
    assert 'data-test="skipped-not_found">1' in done.text
    record = session.scalar(select(Handover).where(Handover.reason == "assign"))
    assert record is not None and record.actor == "user:operator@brand.cn"
    assert client.get(f"/staff/handovers/{record.id}").status_code == 200
    neither = client.post(
        "/staff/assign",
        data={"csrf_token": csrf_of(page.text), "guide_id": str(users["guide_staff_id"])},
    )
    assert neither.status_code == 400 and error_beside(neither.text, "segment")
    picker = client.get(f"/staff/owner/{ids[2]}", headers={"HX-Request": "true"})
    assert 'data-test="owner-form"' in picker.text and "<html" not in picker.text
    changed = client.post(
        f"/staff/owner/{ids[2]}",
        data={"csrf_token": csrf_of(picker.text), "guide_id": str(users["other_staff_id"])},
        follow_redirects=False,
    )
    assert changed.headers["location"].startswith(f"/customers/{ids[2]}")
    session.expire_all()
    assert session.get(Customer, ids[2]).owner_id == users["other_staff_id"]
    assert 'data-test="owner-picker"' in client.get(f"/customers/{ids[2]}").text


def test_an_analyst_reads_stores_but_cannot_change_or_assign(signed_in):
    client = signed_in("analyst")
    stores = client.get("/staff/stores")
    assert stores.status_code == 200 and 'data-test="add-store"' not in stores.text
    assert 'data-test="add-staff"' not in client.get("/staff").text
    assert client.get("/staff/assign").status_code == 403
    guide = signed_in("guide")
    assert guide.get("/staff/stores").status_code == 403


def test_a_codes_routing_table_lists_guides_under_their_store(signed_in, users):
    from siyu.codes.service import create_code

    with unit_of_work() as s:
        north = Store(code="n-01", name="北门店")
        s.add(north)
        s.flush()
        s.get_one(Staff, users["other_staff_id"]).store_id = north.id
        create_code(s, "Counter", code="counter", kind="store", store_id=north.id)
    page = signed_in("operator").get("/codes/counter").text
    store_row = page.index('data-test="route-store"><th colspan="7">北门店')
    without = page.index('data-test="route-store"><th colspan="7">无门店')
    assert store_row < page.index(f'data-test="route-{users["other_staff_id"]}"') < without
    assert without < page.index(f'data-test="route-{users["guide_staff_id"]}"')


def test_a_team_is_made_and_moved_to_a_store(signed_in, session):
    with unit_of_work() as s:
        store = Store(code="t-01", name="坡子街店")
        s.add(store)
        s.flush()
        store_id = store.id
    client = signed_in("operator")
    token = csrf_of(client.get("/staff/stores").text)
    made = client.post(
        "/staff/teams", data={"csrf_token": token, "name": "小茶团队"}, follow_redirects=False
    )
    assert made.status_code == 303
    moved = client.post(
        "/staff/teams",
        data={"csrf_token": token, "name": "小茶团队", "store_id": str(store_id)},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    team = session.scalar(select(Team).where(Team.name == "小茶团队"))
    assert team.store_id == store_id
    blank = client.post("/staff/teams", data={"csrf_token": token, "name": ""})
    assert blank.status_code == 400 and error_beside(blank.text, "name")
    assert 'data-team="小茶团队"' in client.get("/staff/stores").text
    assert 'data-test="add-team"' not in signed_in("analyst").get("/staff/stores").text
