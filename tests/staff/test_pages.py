"""Guides and handovers in the console."""

from __future__ import annotations

from siyu.core.db import unit_of_work
from siyu.customers.models import Customer
from tests.console_support import csrf_of


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
