"""`/api/consent` and `siyu consent`: read, set and import consent, by any identity."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from siyu.cli import app
from siyu.core.auth import create_token
from siyu.core.db import unit_of_work
from siyu.messaging import service
from siyu.staff.service import create_staff
from tests.messaging.factories import customer

runner = CliRunner()


def _token(role: str) -> dict:
    with unit_of_work() as s:
        staff = create_staff(s, "导购张").id if role == "guide" else None
        _, secret = create_token(s, f"t-{role}", role, staff)
    return {"Authorization": f"Bearer {secret}"}


def test_the_api_sets_and_shows_consent_by_any_identity(client):
    with unit_of_work() as s:
        cid = customer(s, "c1", phone="13800000001")
    admin = _token("admin")
    body = {"channel": "sms", "status": "subscribed", "source": "mall sign-up"}
    answer = client.put("/api/consent/13800000001", json=body, headers=admin)
    assert answer.status_code == 200, answer.text
    sms = next(c for c in answer.json()["channels"] if c["channel"] == "sms")
    assert (
        sms["status"] == "subscribed" and sms["reachable"] and sms["changed_by"] == "token:t-admin"
    )
    shown = client.get(f"/api/consent/{cid}", headers=_token("analyst")).json()
    by_channel = {c["channel"]: c for c in shown["channels"]}
    assert by_channel["wecom"]["status"] is None and by_channel["wecom"]["reachable"]
    assert not by_channel["email"]["reachable"]


def test_the_api_refuses_bad_input_naming_the_field_and_guides(client):
    with unit_of_work() as s:
        customer(s, "c1")
    admin = _token("admin")
    bad = client.post(
        "/api/consent/c1",
        json={"channel": "fax", "status": "subscribed", "source": "x"},
        headers=admin,
    )
    assert bad.status_code == 422 and "channel" in bad.text
    assert client.get("/api/consent/c1", headers=_token("guide")).status_code == 403
    assert client.get("/api/consent/nobody", headers=admin).status_code == 404


def test_the_api_imports_a_list(client):
    with unit_of_work() as s:
        customer(s, "c1", email="a@example.com")
    answer = client.post(
        "/api/consent/import",
        json={
            "channel": "email",
            "source": "newsletter form",
            "values": ["a@example.com", "x@y.z"],
        },
        headers=_token("operator"),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() | {"unknown_values": None} == {
        "subscribed": 1,
        "unchanged": 0,
        "kept_unsubscribed": 0,
        "unknown": 1,
        "unknown_values": None,
    }


def test_the_cli_imports_sets_and_shows(tmp_path):
    with unit_of_work() as s:
        cid = customer(s, "c1", phone="13800000001", email="a@example.com")
    listing = tmp_path / "list.csv"
    listing.write_text("phone\n138 0000 0001\n13900000000\n", encoding="utf-8")
    done = runner.invoke(
        app,
        ["consent", "import", str(listing), "--channel", "sms", "--source", "store form", "--json"],
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["subscribed"] == 1 and json.loads(done.output)["unknown"] == 1
    changed = runner.invoke(
        app,
        [
            "consent",
            "set",
            "a@example.com",
            "--channel",
            "email",
            "--status",
            "unsubscribed",
            "--source",
            "asked by phone",
            "--json",
        ],
    )
    assert changed.exit_code == 0, changed.output
    shown = json.loads(runner.invoke(app, ["consent", "show", str(cid), "--json"]).output)
    by_channel = {c["channel"]: c for c in shown["channels"]}
    assert by_channel["sms"]["status"] == "subscribed" and by_channel["sms"]["method"] == "import"
    assert (
        by_channel["email"]["status"] == "unsubscribed" and by_channel["email"]["method"] == "cli"
    )
    wrong = runner.invoke(
        app,
        ["consent", "set", str(cid), "--channel", "fax", "--status", "subscribed", "--source", "x"],
    )
    assert wrong.exit_code == 2 and "channel" in wrong.output
    plain = runner.invoke(app, ["consent", "show", str(cid)])
    assert plain.exit_code == 0 and "store form" in plain.output
    with unit_of_work() as s:
        assert service.consent_of(s, cid)["sms"].source == "store form"
