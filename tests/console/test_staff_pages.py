"""Guides and handovers in the console."""

from __future__ import annotations

from sqlalchemy import func, select

from siyu.core.db import unit_of_work
from siyu.customers.models import Customer
from siyu.staff.models import Handover, Staff, Team
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
