"""`siyu staff handover`: a leaving guide's customers handed over from the command line."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from siyu.cli import app
from siyu.core.db import unit_of_work
from siyu.customers.models import Customer
from siyu.staff.service import create_staff

runner = CliRunner()


def test_handover_from_the_cli_moves_every_customer(session):
    with unit_of_work() as s:
        leaving = create_staff(s, "走的人", wecom_userid="leaving")
        taker = create_staff(s, "接的人", wecom_userid="taker")
        s.add_all([Customer(traits={}, owner_id=leaving.id) for _ in range(3)])
        leaving_id, taker_id = leaving.id, taker.id
    result = runner.invoke(app, ["staff", "handover", "start", "--from", str(leaving_id), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["moves"] == {"succeeded": 3}
    owners = {c.owner_id for c in session.query(Customer)}
    assert owners == {taker_id}
    listed = json.loads(runner.invoke(app, ["staff", "list", "--json"]).output)
    assert {(r["name"], r["status"], r["customers"]) for r in listed} == {
        ("走的人", "left", 0),
        ("接的人", "active", 3),
    }
    history = json.loads(runner.invoke(app, ["staff", "handover", "list", "--json"]).output)
    assert history[0]["reason"] == "leaving" and history[0]["actor"] == "cli"
