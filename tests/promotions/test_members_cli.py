"""`siyu members`: the rules and tiers set up, a customer's card shown, points adjusted with a
reason, and the ledger's check."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from siyu.cli import app
from siyu.core.db import unit_of_work
from siyu.promotions import flash, members
from tests.promotions.test_members import NOW, order, people


def run(*args: str):
    return CliRunner().invoke(app, ["members", *args])


def test_siyu_members_sets_up_tiers_shows_a_card_adjusts_and_checks():
    ids = people(1)
    assert run("settings", "--points-per-yuan", "1", "--window-days", "180").exit_code == 0
    assert (
        run("tiers", "create", "--key", "normal", "--name", "普通", "--least", "0").exit_code == 0
    )
    made = run("tiers", "create", "--key", "gold", "--name", "金卡", "--least", "2,000",
               "--benefits", "9 折", "--json")  # fmt: skip
    assert made.exit_code == 0, made.output
    assert json.loads(made.output)["least"] == 2000
    order("Order Completed", "b0", "SO-1", "2500", NOW - timedelta(days=1))
    listed = json.loads(run("tiers", "list", "--json").output)
    assert [(t["key"], t["members"]) for t in listed] == [("normal", 0), ("gold", 1)]
    adjusted = run("points", "adjust", "b0", "--points", "-500", "--reason", "退货补差", "--json")
    assert json.loads(adjusted.output)["balance"] == 2000, adjusted.output
    no_reason = run("points", "adjust", "b0", "--points", "5", "--reason", " ")
    assert no_reason.exit_code == 2 and "reason" in no_reason.output
    too_many = run("points", "adjust", "b0", "--points", "-9999", "--reason", "x")
    assert too_many.exit_code == 2 and "points" in too_many.output
    shown = json.loads(run("show", str(ids[0]), "--json").output)
    assert (shown["tier"]["key"], shown["points"]) == ("gold", 2000)
    assert [e["kind"] for e in shown["ledger"]] == ["adjust", "earn"]
    checked = run("check", "--json")
    assert checked.exit_code == 0 and json.loads(checked.output)["balanced"] is True
    assert run("show", "nobody").exit_code == 2


def test_siyu_members_flash_price_sells_a_sale_to_a_tier_at_its_price():
    now = datetime.now(UTC)
    with unit_of_work() as s:
        members.save_tier(s, "gold", "金卡", 100)
        flash.create_sale(s, "vip", "会员专享", "CUP-500", 9900, 5, 1, now, now + timedelta(days=1))
    priced = run("flash-price", "vip", "gold", "--price", "79", "--json")
    assert json.loads(priced.output) == {"sale": "vip", "prices": {"gold": 79.0}}, priced.output
    cleared = run("flash-price", "vip", "gold", "--json")
    assert json.loads(cleared.output)["prices"] == {}
    assert run("flash-price", "vip", "silver", "--price", "79").exit_code == 2
