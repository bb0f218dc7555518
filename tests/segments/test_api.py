"""The segments management API: bearer tokens, rules checked with their path, members, CSV."""

from __future__ import annotations

from siyu.core import jobs
from tests.segments.brand import Brand, identify, order


def _auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_define_refresh_and_read_a_segment(client, admin_token):
    brand = Brand()
    brand.send(identify("ann", "2026-10-01"), order("ann", "2026-10-02", 30))
    brand.ship()
    rule = {"event": "Order Completed"}
    made = client.post(
        "/api/segments",
        json={"key": "buyers", "name": "Buyers", "rule": rule},
        headers=_auth(admin_token),
    )
    assert made.status_code == 200, made.text
    while jobs.run_one():
        pass
    shown = client.get("/api/segments/buyers", headers=_auth(admin_token)).json()
    assert shown["member_count"] == 1
    members = client.get("/api/segments/buyers/members", headers=_auth(admin_token)).json()
    assert [m["customer_id"] for m in members["members"]] == [brand.customer_id("ann")]
    csv = client.get("/api/segments/buyers/export.csv", headers=_auth(admin_token))
    assert csv.text.splitlines()[1].split(",")[1] == "ann"
    preview = client.post(
        "/api/segments/preview", json={"rule": {"segment": "buyers"}}, headers=_auth(admin_token)
    )
    assert preview.json()["count"] == 1
    latest = client.get("/api/segments/buyers/refresh", headers=_auth(admin_token)).json()
    assert latest["status"] == "done"


def test_a_bad_rule_is_refused_with_its_path(client, admin_token):
    bad = {"and": [{"tag": "VIP"}, {"event": "Order Completed", "within_days": 0}]}
    answer = client.post(
        "/api/segments",
        json={"key": "bad", "name": "Bad", "rule": bad},
        headers=_auth(admin_token),
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["field"] == "$.and[1].within_days"


def test_an_analyst_token_reads_but_cannot_define(client):
    from siyu.core.auth import create_token
    from siyu.core.db import unit_of_work

    with unit_of_work() as s:
        _, secret = create_token(s, "bi", "analyst")
    assert client.get("/api/segments", headers=_auth(secret)).status_code == 200
    refused = client.post(
        "/api/segments",
        json={"key": "x", "name": "X", "rule": {"tag": "VIP"}},
        headers=_auth(secret),
    )
    assert refused.status_code == 403
