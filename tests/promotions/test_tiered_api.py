"""/api/tiered: the mall adds participants with a `mall` token (once per Idempotency-Key) and
charges the price each answer names; `siyu tiered` sets an activity up and closes it, and the
refunds of the difference appear for the mall."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from siyu.cli import app
from siyu.core.db import unit_of_work
from siyu.promotions import tiered
from tests.promotions.test_flash_api import token
from tests.promotions.test_flash_sales import people


def live_activity(key: str = "steps") -> None:
    now = datetime.now(UTC)
    with unit_of_work() as s:
        tiered.create_tiered(
            s, key, "阶梯价 保温杯", "CUP-500", 9900, [(2, 8900), (3, 7900)],
            now - timedelta(hours=1), now + timedelta(days=1),
        )  # fmt: skip


def test_the_mall_adds_participants_and_charges_the_price_each_answer_names(client):
    ids = people(4)
    live_activity()
    mall = token("mall")
    path = "/api/tiered/steps/participants"
    first = client.post(path, headers=mall, json={"customer": "b0", "order_id": "SO-0"})
    assert first.status_code == 201, first.text
    assert {k: first.json()[k] for k in ("customer_id", "place", "price", "price_fen")} == {
        "customer_id": ids[0],
        "place": 1,
        "price": 99.0,
        "price_fen": 9900,
    }
    assert first.json()["next_tier"]["needed"] == 1
    once = {**mall, "Idempotency-Key": "cart-7"}
    second = client.post(path, headers=once, json={"customer": ids[1], "order_id": "SO-1"})
    replay = client.post(path, headers=once, json={"customer": ids[1], "order_id": "SO-1"})
    assert (second.status_code, second.json()["price_fen"]) == (201, 8900), second.text
    assert replay.json() == second.json() and replay.headers["Idempotent-Replayed"] == "true"
    twice = client.post(path, headers=mall, json={"customer": ids[1], "order_id": "SO-x"})
    assert twice.status_code == 409, twice.text
    assert (twice.json()["error"]["code"], twice.json()["error"]["field"]) == (
        "already_joined",
        "customer",
    )
    third = client.post(path, headers=mall, json={"customer": ids[2], "order_id": "SO-2"})
    assert third.json()["price_fen"] == 7900
    shown = client.get("/api/tiered/steps", headers=token("analyst"))
    assert shown.status_code == 200, shown.text
    assert {k: shown.json()[k] for k in ("participants", "current_price", "next_tier")} == {
        "participants": 3,
        "current_price": 79.0,
        "next_tier": None,
    }
    assert shown.json()["final_price"] is None
    assert client.get("/api/tiered/nope", headers=mall).status_code == 404
    write = client.post(path, headers=token("analyst"), json={"customer": ids[3], "order_id": "x"})
    assert write.status_code == 403

    with unit_of_work() as s:
        tiered.close(s, "steps")
    closed = client.get("/api/tiered/steps", headers=mall).json()
    assert (closed["status"], closed["final_price"]) == ("closed", 79.0)
    late = client.post(path, headers=mall, json={"customer": ids[3], "order_id": "SO-3"})
    assert (late.status_code, late.json()["error"]["code"]) == (409, "closed")
    owed = client.get("/api/promotion-refunds", headers=mall, params={"kind": "tiered"}).json()
    assert [(r["order_id"], r["amount"]) for r in owed["refunds"]] == [
        ("SO-0", 20.0),
        ("SO-1", 10.0),
    ]


def test_the_cli_sets_a_tiered_price_up_and_closes_it():
    runner = CliRunner()
    made = runner.invoke(
        app,
        ["tiered", "create", "--key", "steps", "--name", "阶梯价", "--product", "CUP-500",
         "--base-price", "109", "--tier", "50:89", "--tier", "10:99.00",
         "--start", "2026-12-12T20:00", "--end", "2026-12-14T20:00", "--json"],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    row = json.loads(made.output)
    assert row["tiers"] == [
        {"participants": 10, "price": 99.0},
        {"participants": 50, "price": 89.0},
    ]
    assert (row["base_price"], row["status"], row["participants"]) == (109.0, "active", 0)
    bad = runner.invoke(
        app,
        ["tiered", "create", "--key", "bad", "--name", "x", "--product", "p", "--base-price",
         "99", "--tier", "ten:89", "--start", "2026-12-12T20:00", "--end", "2026-12-13T20:00"],
    )  # fmt: skip
    assert bad.exit_code == 2 and "--tier" in bad.output
    shown = runner.invoke(app, ["tiered", "show", "steps", "--json"])
    assert json.loads(shown.output)["next_tier"]["needed"] == 10
    listed = runner.invoke(app, ["tiered", "list", "--json"])
    assert [r["key"] for r in json.loads(listed.output)] == ["steps"]
    closed = runner.invoke(app, ["tiered", "close", "steps", "--json"])
    assert closed.exit_code == 0, closed.output
    assert (json.loads(closed.output)["status"], json.loads(closed.output)["final_price"]) == (
        "closed",
        109.0,
    )
    missing = runner.invoke(app, ["tiered", "close", "nope"])
    assert missing.exit_code == 2 and "key" in missing.output
