"""`siyu coupons`: write a template, issue it with a progress bar, redeem at a till, and read
what it cost, as a script would (--json)."""

from __future__ import annotations

import json

from sqlalchemy import select
from typer.testing import CliRunner

from siyu.cli import app
from siyu.core.db import unit_of_work
from siyu.promotions.models import Coupon
from tests.promotions.test_coupons import people

runner = CliRunner()


def run(*args: str) -> dict | list:
    result = runner.invoke(app, ["coupons", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_template_is_written_issued_redeemed_and_summed_up():
    people(3)
    made = run(
        "create",
        "--key",
        "fan-20",
        "--name",
        "粉丝券",
        "--kind",
        "threshold",
        "--amount",
        "20",
        "--threshold",
        "99",
        "--valid-days",
        "30",
        "--stock",
        "2",
    )
    assert (made["amount"], made["threshold"], made["stock"]) == (20.0, 99.0, 2)
    issued = run(
        "issue",
        "fan-20",
        "--customer",
        "13900000000",
        "--customer",
        "13900000001",
        "--customer",
        "13900000002",
        "--customer",
        "13800009999",
    )
    assert issued == {"issued": 2, "skipped": {"out_of_stock": 1}, "unknown": 1}
    assert [t["key"] for t in run("list")] == ["fan-20"]
    with unit_of_work() as s:
        code = s.scalars(select(Coupon.code)).first()
    redeemed = run("redeem", code, "--order", "POS-1", "--amount", "120")
    assert (redeemed["discount"], redeemed["again"]) == (20.0, False)
    shown = run("show", "fan-20")
    assert (shown["issued"], shown["redeemed"], shown["redemption_rate"]) == (2, 1, 0.5)
    assert shown["cost"] == 20.0


def test_bad_options_are_named():
    people(1)
    bad = runner.invoke(
        app,
        [
            "coupons",
            "create",
            "--key",
            "x",
            "--name",
            "x",
            "--amount",
            "1.234",
            "--valid-days",
            "3",
        ],
    )
    assert bad.exit_code == 2 and "--amount" in bad.output
    refused = runner.invoke(
        app,
        [
            "coupons",
            "create",
            "--key",
            "x",
            "--name",
            "x",
            "--kind",
            "percent",
            "--percent",
            "120",
            "--valid-days",
            "3",
        ],
    )
    assert refused.exit_code == 2 and "percent" in refused.output
    nothing = runner.invoke(app, ["coupons", "issue", "x"])
    assert nothing.exit_code == 2 and "customer" in nothing.output
