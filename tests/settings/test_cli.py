"""`siyu tokens`: a token made on the command line works against the management API."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from typer.testing import CliRunner

from siyu.cli import app
from siyu.core.auth import ApiToken
from siyu.core.db import unit_of_work
from siyu.core.settings import reset_settings
from siyu.staff.service import create_staff

runner = CliRunner()


def tokens(*args: str):
    return runner.invoke(app, ["tokens", *args])


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def test_a_created_token_works_until_it_is_revoked(client):
    made = tokens("create", "--name", "crm-sync", "--role", "analyst")
    assert made.exit_code == 0, made.output
    secret = made.output.strip().splitlines()[-1]
    assert client.get("/api/segments", headers=bearer(secret)).status_code == 200
    # An analyst's token reads but does not change.
    rule = {"key": "x", "name": "X", "rule": {"tag": "vip"}}
    assert client.post("/api/segments", json=rule, headers=bearer(secret)).status_code == 403

    listed = json.loads(tokens("list", "--json").output)
    assert [(t["name"], t["role"], t["revoked_at"]) for t in listed] == [
        ("crm-sync", "analyst", None)
    ]
    assert tokens("revoke", str(listed[0]["id"])).exit_code == 0
    assert client.get("/api/segments", headers=bearer(secret)).status_code == 401
    assert json.loads(tokens("list", "--json").output)[0]["revoked_at"] is not None


def test_the_list_never_shows_a_token():
    made = tokens("create", "--name", "pos [red]", "--role", "operator")
    assert "pos [red]" in made.output
    secret = made.output.strip().split()[-1]
    for listed in (tokens("list"), tokens("list", "--json")):
        assert listed.exit_code == 0 and "pos [red]" in listed.output
        assert secret not in listed.output
        assert secret[:10] in listed.output  # the prefix, to tell tokens apart


def test_a_guides_token_names_an_existing_guide():
    refused = tokens("create", "--name", "g", "--role", "guide")
    assert refused.exit_code == 2 and "staff_id" in refused.output
    with unit_of_work() as s:
        guide_id = create_staff(s, "刘晓雯", "guide").id
    made = tokens("create", "--name", "g", "--role", "guide", "--staff-id", str(guide_id))
    assert made.exit_code == 0, made.output
    assert json.loads(tokens("list", "--json").output)[0]["staff_id"] == guide_id


def test_an_unknown_role_or_token_is_an_error_naming_it():
    wrong_role = tokens("create", "--name", "x", "--role", "owner")
    assert wrong_role.exit_code == 2 and "role" in wrong_role.output
    missing = tokens("revoke", "999")
    assert missing.exit_code == 2 and "token_id" in missing.output


def test_tokens_are_listed_in_the_brands_time_and_created_as_json(monkeypatch):
    made = json.loads(tokens("create", "--name", "bi", "--role", "analyst", "--json").output)
    assert made["name"] == "bi" and made["token"].startswith(made["token_prefix"])
    with unit_of_work() as session:
        session.get(ApiToken, made["id"]).created_at = datetime(2026, 3, 1, 1, 30, tzinfo=UTC)

    monkeypatch.setenv("SIYU_TIMEZONE", "Asia/Shanghai")
    reset_settings()
    listed = tokens("list")
    assert "2026-03-01 09:30" in listed.output  # 01:30 UTC is 09:30 in Shanghai
