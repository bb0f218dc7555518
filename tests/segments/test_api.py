"""The segments management API: bearer tokens, rules checked with their path, members, CSV."""

from __future__ import annotations

from siyu import work
from siyu.core.settings import reset_settings
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
    while work.run_one():
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


def test_a_rule_past_a_cost_limit_is_refused_naming_the_limit(client, admin_token):
    rule = {"or": [{"event": f"E{i}", "within_days": 30} for i in range(11)]}
    answer = client.post("/api/segments/preview", json={"rule": rule}, headers=_auth(admin_token))
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert (error["code"], error["limit"], error["max"]) == (
        "rule_too_costly",
        "SIYU_SEGMENT_MAX_EVENT_CONDITIONS",
        10,
    )
    assert error["field"] == "$.or[10]"
    stored = client.post(
        "/api/segments", json={"key": "c", "name": "C", "rule": rule}, headers=_auth(admin_token)
    )
    assert stored.status_code == 422


def test_a_preview_past_its_time_limit_is_stopped(client, admin_token, monkeypatch):
    brand = Brand()
    brand.send(identify("ann", "2026-10-01"), order("ann", "2026-10-02", 30))
    brand.ship()
    monkeypatch.setenv("SIYU_SEGMENT_PREVIEW_TIMEOUT_SECONDS", "0.000001")
    reset_settings()
    rule = {"event": "Order Completed"}
    answer = client.post("/api/segments/preview", json={"rule": rule}, headers=_auth(admin_token))
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "preview_timeout"
    assert "SIYU_SEGMENT_PREVIEW_TIMEOUT_SECONDS" in answer.json()["error"]["message"]
    monkeypatch.setenv("SIYU_SEGMENT_PREVIEW_TIMEOUT_SECONDS", "10")
    reset_settings()
    again = client.post("/api/segments/preview", json={"rule": rule}, headers=_auth(admin_token))
    assert again.json()["count"] == 1
