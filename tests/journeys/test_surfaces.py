"""`siyu journeys` and /api/journeys: create from JSON or a template, publish, pause, show, list,
each with --json; a bad definition is answered with the JSON path of every problem."""

from __future__ import annotations

import json

import orjson
from typer.testing import CliRunner

from siyu.core.auth import create_token
from siyu.core.db import unit_of_work
from siyu.journeys.cli import app
from tests.journeys.test_flow import WAIT_BRANCH_TAG

runner = CliRunner()


def _token(role: str) -> dict:
    with unit_of_work() as s:
        _, secret = create_token(s, f"journeys-{role}", role)
    return {"Authorization": f"Bearer {secret}"}


def test_the_cli_creates_publishes_pauses_shows_and_lists(tmp_path):
    path = tmp_path / "journey.json"
    path.write_bytes(orjson.dumps(WAIT_BRANCH_TAG))
    made = runner.invoke(app, ["create", str(path), "--json"])
    assert made.exit_code == 0, made.output
    assert json.loads(made.output)["status"] == "draft"
    published = runner.invoke(app, ["publish", "after-signup", "--json"])
    assert json.loads(published.output)["current_version"] == 1
    paused = runner.invoke(app, ["pause", "after-signup", "--json"])
    assert json.loads(paused.output)["status"] == "paused"
    shown = json.loads(runner.invoke(app, ["show", "after-signup", "--json"]).output)
    assert shown["versions"][0]["published_by"] == "cli"
    assert shown["entries"] == {"active": 0, "completed": 0, "exited": 0}
    listed = json.loads(runner.invoke(app, ["list", "--json"]).output)
    assert [j["key"] for j in listed] == ["after-signup"]
    assert "after-signup" in runner.invoke(app, ["list"]).output


def test_the_cli_creates_from_a_template_and_names_each_problem(tmp_path):
    made = runner.invoke(app, ["create", "--template", "win-back", "--json"])
    assert made.exit_code == 0, made.output
    refused = runner.invoke(app, ["publish", "win-back"])
    assert refused.exit_code == 2
    assert "$.entry" in refused.output and "no stored segment" in refused.output
    bad = tmp_path / "bad.json"
    bad.write_text('{"key": "x", "name": "X", "entry": {}, "steps": [{"id": "a", "kind": "wait"}]}')
    refused = runner.invoke(app, ["create", str(bad)])
    assert refused.exit_code == 2
    assert "$.entry" in refused.output and "$.steps[0]" in refused.output


def test_the_api_lists_creates_shows_publishes_and_pauses(client):
    admin = _token("admin")
    made = client.post("/api/journeys", json={"definition": WAIT_BRANCH_TAG}, headers=admin)
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "draft"
    published = client.post("/api/journeys/after-signup/publish", headers=admin)
    assert published.json()["current_version"] == 1
    assert client.post("/api/journeys/after-signup/pause", headers=admin).json()["status"] == (
        "paused"
    )
    shown = client.get("/api/journeys/after-signup", headers=_token("analyst")).json()
    assert shown["definition"]["key"] == "after-signup"
    assert [j["key"] for j in client.get("/api/journeys", headers=admin).json()] == ["after-signup"]


def test_the_api_answers_a_bad_definition_with_each_path_and_checks_the_role(client):
    admin = _token("admin")
    bad = {
        **WAIT_BRANCH_TAG,
        "steps": [{"id": "a", "kind": "wait", "duration": "P3D", "next": "a"}],
    }
    answer = client.post("/api/journeys", json={"definition": bad}, headers=admin)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["field"] == "$.steps[0].next"
    assert error["problems"][0]["field"] == "$.steps[0].next"
    answer = client.post("/api/journeys", json={"template": "birthday"}, headers=_token("analyst"))
    assert answer.status_code == 403
    made = client.post("/api/journeys", json={"template": "birthday"}, headers=admin)
    assert made.status_code == 201
    refused = client.post("/api/journeys/birthday/publish", headers=admin)
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "$.entry"
