"""/api/broadcasts: write, preview, send and follow a broadcast with a bearer token."""

from __future__ import annotations

from tests.broadcasts.test_broadcasts import subscribed_people


def test_an_operator_writes_previews_and_sends_a_broadcast(client, admin_token):
    ids = subscribed_people()
    auth = {"Authorization": f"Bearer {admin_token}"}
    made = client.post(
        "/api/broadcasts",
        headers=auth,
        json={
            "name": "会员日",
            "channels": ["sms"],
            "variants": [{"text": "{{ name }}，会员日满 300 减 50"}],
            "customers": [str(ids[0]), "13800000002", "13900000000"],
        },
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["status"], body["audience"], body["unknown_in_list"]) == ("draft", "list", 1)
    preview = client.get(
        f"/api/broadcasts/{body['id']}/preview",
        headers=auth,
        params={"at": "2026-12-01T12:00:00+08:00"},
    )
    assert preview.status_code == 200, preview.text
    assert (preview.json()["total"], preview.json()["planned"]) == (2, 2)
    sent = client.post(f"/api/broadcasts/{body['id']}/send", headers=auth, json={})
    assert sent.status_code == 200, sent.text
    assert (sent.json()["status"], sent.json()["planned"]) == ("sending", 2)
    again = client.post(f"/api/broadcasts/{body['id']}/send", headers=auth, json={})
    assert again.status_code == 409 and "status" in again.text, again.text


def test_bad_input_is_named(client, admin_token):
    subscribed_people()
    auth = {"Authorization": f"Bearer {admin_token}"}
    base = {"name": "x", "channels": ["sms"], "variants": [{"text": "hi"}], "segment": "vip"}
    for change, field in (
        ({"channels": ["fax"]}, "channel"),
        ({"holdout_percent": 80}, "holdout_percent"),
        ({"segment": "nobody"}, None),
        ({"variants": [{"text": "{% if %}"}]}, "variants.0.text"),
    ):
        answer = client.post("/api/broadcasts", headers=auth, json={**base, **change})
        assert 400 <= answer.status_code < 500, answer.text
        if field:
            assert field in answer.text
    assert client.get("/api/broadcasts/999", headers=auth).status_code == 404
    assert (
        client.get("/api/broadcasts", headers={"Authorization": "Bearer nope"}).status_code == 401
    )
