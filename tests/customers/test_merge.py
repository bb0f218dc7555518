"""Explicit merges of two identified customers, recorded and undoable — by CLI and API."""

from __future__ import annotations

import json

from sqlalchemy import select
from typer.testing import CliRunner

from siyu.cli import app
from siyu.customers.models import Customer
from siyu.profiles.service import customer_360
from tests.helpers import identify, post_batch, track

runner = CliRunner()


def _two_people(client, write_key):
    post_batch(
        client,
        write_key,
        [
            identify("u-1", {"phone": "13800000001", "name": "王芳", "city": "杭州"}),
            identify("u-2", {"email": "wf@example.com", "name": "Wang Fang", "vip": True}),
            track(
                "Order Completed", user_id="u-1", properties={"order_id": "o-1", "revenue": "30"}
            ),
            track(
                "Order Completed", user_id="u-2", properties={"order_id": "o-2", "revenue": "70"}
            ),
        ],
    )


def test_merge_then_undo_by_cli(client, write_key, session):
    _two_people(client, write_key)
    result = runner.invoke(app, ["customers", "merge", "u-2", "u-1"])
    assert result.exit_code == 0, result.output
    view = customer_360(session, "wf@example.com")
    assert view["id"] == customer_360(session, "u-1")["id"]
    assert view["order_summary"]["net_fen"] == 10_000
    assert view["traits"]["name"] == "王芳" and view["traits"]["vip"] is True
    merge_id = view["merges"][0]["id"]

    result = runner.invoke(app, ["customers", "unmerge", str(merge_id)])
    assert result.exit_code == 0, result.output
    session.expire_all()
    one, two = customer_360(session, "u-1"), customer_360(session, "u-2")
    assert one["id"] != two["id"]
    assert one["order_summary"]["net_fen"] == 3000 and two["order_summary"]["net_fen"] == 7000
    assert "vip" not in one["traits"]
    assert {i["value"] for i in two["identities"]} == {"u-2", "wf@example.com"}
    assert one["merges"][0]["undone_at"] is not None


def test_show_json_prints_the_customer_360(client, write_key):
    _two_people(client, write_key)
    result = runner.invoke(app, ["customers", "show", "13800000001", "--json"])
    assert result.exit_code == 0, result.output
    view = json.loads(result.output)
    assert view["traits"]["city"] == "杭州"
    assert view["order_summary"]["orders"] == 1
    assert {"traits", "identities", "tags", "order_summary", "latest_events"} <= view.keys()


def test_show_unknown_customer_names_the_problem(client):
    result = runner.invoke(app, ["customers", "show", "nobody"])
    assert result.exit_code == 2
    assert "no customer" in result.output


def test_merge_and_undo_by_api(client, write_key, admin_token, session):
    _two_people(client, write_key)
    headers = {"Authorization": f"Bearer {admin_token}"}
    response = client.post(
        "/api/customers/merge", json={"merged": "u-2", "kept": "u-1"}, headers=headers
    )
    assert response.status_code == 200, response.text
    merge_id = response.json()["merge_id"]
    assert (
        client.get("/api/customers/u-2", headers=headers).json()["id"] == response.json()["kept_id"]
    )
    assert client.post(f"/api/customers/merges/{merge_id}/undo", headers=headers).status_code == 200
    again = client.post(f"/api/customers/merges/{merge_id}/undo", headers=headers)
    assert again.status_code == 409
    merged = session.get(Customer, response.json()["merged_id"])
    assert merged.merged_into_id is None


def test_management_api_needs_a_token_with_the_role(client, write_key, session):
    from siyu.core.auth import create_token
    from siyu.core.db import unit_of_work

    _two_people(client, write_key)
    with unit_of_work() as s:
        _, analyst = create_token(s, "reader", "analyst")
    assert client.get("/api/customers/u-1").status_code == 401
    headers = {"Authorization": f"Bearer {analyst}"}
    assert client.get("/api/customers/u-1", headers=headers).status_code == 200
    refused = client.post(
        "/api/customers/merge", json={"merged": "u-2", "kept": "u-1"}, headers=headers
    )
    assert refused.status_code == 403
    assert (
        session.scalar(select(Customer.merged_into_id).where(Customer.merged_into_id.is_not(None)))
        is None
    )


def test_merge_and_unmerge_print_json_a_script_can_undo_with(client, write_key):
    _two_people(client, write_key)
    merged = runner.invoke(app, ["customers", "merge", "u-2", "u-1", "--json"])
    assert merged.exit_code == 0, merged.output
    record = json.loads(merged.output)
    assert record["undone"] is False and record["merged_id"] != record["kept_id"]

    undone = runner.invoke(app, ["customers", "unmerge", str(record["merge_id"]), "--json"])
    assert undone.exit_code == 0, undone.output
    assert json.loads(undone.output) == record | {"undone": True}
