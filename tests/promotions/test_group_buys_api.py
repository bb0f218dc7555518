"""/api/group-buys and /api/promotion-refunds: the mall opens and joins groups and confirms the
refunds Siyu emits with a `mall` token, each write once per Idempotency-Key; `siyu group-buys`
and `siyu refunds` with --json."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from typer.testing import CliRunner

from siyu.cli import app
from siyu.core.db import unit_of_work
from siyu.events.models import OutboxEvent
from siyu.promotions import group_buys
from siyu.promotions.models import GroupMember
from tests.promotions.test_flash_api import token
from tests.promotions.test_flash_sales import people


def live_group_buy(key: str = "duo", size: int = 3, hours: int = 2) -> None:
    now = datetime.now(UTC)
    with unit_of_work() as s:
        group_buys.create_group_buy(
            s, key, "三人团 保温杯", "CUP-500", 5900, size, hours, now - timedelta(hours=1),
            now + timedelta(days=1),
        )  # fmt: skip


def place(customer: int | str, order: str, amount: str = "59.00") -> dict:
    return {"customer": customer, "order_id": order, "amount": amount}


def members() -> int:
    with unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(GroupMember)) or 0


def test_the_mall_opens_a_group_others_join_it_and_it_succeeds(client):
    ids = people(4)
    live_group_buy()
    mall = token("mall")
    opened = client.post("/api/group-buys/duo/groups", headers=mall, json=place("b0", "SO-0"))
    assert opened.status_code == 201, opened.text
    body = opened.json()
    assert (body["status"], body["members"], body["needed"], body["leader_id"]) == (
        "open",
        1,
        2,
        ids[0],
    )
    assert datetime.fromisoformat(body["deadline"]) > datetime.now(UTC) + timedelta(minutes=119)
    path = f"/api/group-buys/groups/{body['code']}"
    joined = client.post(f"{path}/join", headers=mall, json=place(ids[1], "SO-1"))
    assert (joined.status_code, joined.json()["needed"]) == (200, 1), joined.text
    again = client.post(f"{path}/join", headers=mall, json=place(ids[1], "SO-1b"))
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "already_joined"
    assert again.json()["error"]["field"] == "customer"
    # the code as typed at a till: case and dashes do not matter
    typed = body["code"].lower()[:4] + "-" + body["code"].lower()[4:]
    full = client.post(
        f"/api/group-buys/groups/{typed}/join", headers=mall, json=place(ids[2], "SO-2")
    )
    assert (full.status_code, full.json()["status"]) == (200, "succeeded"), full.text
    late = client.post(f"{path}/join", headers=mall, json=place(ids[3], "SO-3"))
    assert late.status_code == 409, late.text
    assert late.json()["error"] == {"code": "full", "message": "the group is full", "field": "code"}
    shown = client.get(path, headers=token("analyst"))
    assert shown.status_code == 200, shown.text
    assert {k: shown.json()[k] for k in ("status", "members", "needed", "robot_filled")} == {
        "status": "succeeded",
        "members": 3,
        "needed": 0,
        "robot_filled": 0,
    }
    assert client.get("/api/group-buys/groups/NOPE", headers=mall).status_code == 404
    nobody = client.post("/api/group-buys/nope/groups", headers=mall, json=place("b0", "SO-9"))
    assert (nobody.status_code, nobody.json()["error"]["field"]) == (404, "key")


def test_who_may_open_join_and_see(client):
    people(2)
    live_group_buy()
    analyst = token("analyst")
    write = client.post("/api/group-buys/duo/groups", headers=analyst, json=place("b0", "SO-0"))
    assert write.status_code == 403, write.text
    assert client.get("/api/promotion-refunds", headers=analyst).status_code == 200
    assert client.get("/api/promotion-refunds").status_code == 401
    bad = client.post(
        "/api/group-buys/duo/groups", headers=token("mall"), json=place("b0", "SO-0", "0")
    )
    assert bad.status_code == 422, bad.text
    assert members() == 0


def test_a_retried_join_gets_its_first_answer_and_takes_no_second_place(client):
    ids = people(3)
    live_group_buy(size=5)
    mall = token("mall")
    code = client.post(
        "/api/group-buys/duo/groups", headers=mall, json=place(ids[0], "SO-0")
    ).json()["code"]
    once = {**mall, "Idempotency-Key": "join-42"}
    path = f"/api/group-buys/groups/{code}/join"
    first = client.post(path, headers=once, json=place(ids[1], "SO-1"))
    again = client.post(path, headers=once, json=place(ids[1], "SO-1"))
    assert (first.status_code, again.status_code) == (200, 200), again.text
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert members() == 2
    reused = client.post(path, headers=once, json=place(ids[2], "SO-2"))
    assert (reused.status_code, reused.json()["error"]["field"]) == (400, "Idempotency-Key")
    used = client.post(path, headers=mall, json=place(ids[2], "SO-1"))
    assert (used.status_code, used.json()["error"]["code"]) == (409, "order_used")


def test_the_mall_lists_the_refunds_of_a_failed_group_and_confirms_them(client):
    ids = people(2)
    live_group_buy(hours=1)
    mall = token("mall")
    code = client.post(
        "/api/group-buys/duo/groups", headers=mall, json=place(ids[0], "SO-0")
    ).json()["code"]
    client.post(f"/api/group-buys/groups/{code}/join", headers=mall, json=place(ids[1], "SO-1"))
    with unit_of_work() as s:
        assert group_buys.close_due(s, now=datetime.now(UTC) + timedelta(hours=2)).refunds == 2
    shown = client.get(f"/api/group-buys/groups/{code}", headers=mall).json()
    assert (shown["status"], shown["needed"]) == ("failed", 1)
    pending = client.get("/api/promotion-refunds", headers=mall, params={"status": "pending"})
    assert pending.status_code == 200, pending.text
    listed = pending.json()["refunds"]
    assert [(r["order_id"], r["amount"], r["kind"]) for r in listed] == [
        ("SO-0", 59.0, "group_buy"),
        ("SO-1", 59.0, "group_buy"),
    ]
    first = listed[0]["id"]
    path = f"/api/promotion-refunds/{first}/confirm"
    done = client.post(path, headers=mall, json={"reference": "WX-R-1"})
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["reference"]) == ("confirmed", "WX-R-1")
    again = client.post(path, headers=mall, json={"reference": "WX-R-1"})
    assert again.status_code == 200 and again.json() == done.json(), again.text
    other = client.post(path, headers=mall, json={"reference": "WX-R-2"})
    assert (other.status_code, other.json()["error"]["field"]) == (409, "reference")
    left = client.get("/api/promotion-refunds?status=pending", headers=mall).json()["refunds"]
    assert [r["order_id"] for r in left] == ["SO-1"]
    no_body = client.post(f"/api/promotion-refunds/{left[0]['id']}/confirm", headers=mall)
    assert (no_body.status_code, no_body.json()["reference"]) == (200, None), no_body.text
    missing = client.post("/api/promotion-refunds/999999/confirm", headers=mall)
    assert (missing.status_code, missing.json()["error"]["field"]) == (404, "refund_id")
    with unit_of_work() as s:
        confirmed = select(func.count()).where(OutboxEvent.event == "Promotion Refund Confirmed")
        assert s.scalar(confirmed) == 2


def test_the_cli_sets_a_group_buy_up_closes_due_groups_and_confirms_refunds():
    runner = CliRunner()
    made = runner.invoke(
        app,
        ["group-buys", "create", "--key", "trio", "--name", "三人团", "--product", "CUP-500",
         "--price", "59.90", "--size", "3", "--hours", "24", "--start", "2026-12-12T20:00",
         "--end", "2026-12-14T20:00", "--robot-fill", "--json"],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    row = json.loads(made.output)
    assert (row["price_fen"], row["size"], row["robot_fill"]) == (5990, 3, True)
    assert row["starts_at"] == "2026-12-12T12:00:00+00:00"  # brand time in, UTC stored
    shown = runner.invoke(app, ["group-buys", "show", "trio", "--json"])
    assert json.loads(shown.output)["groups"] == {"open": 0, "succeeded": 0, "failed": 0}
    listed = runner.invoke(app, ["group-buys", "list", "--json"])
    assert [r["key"] for r in json.loads(listed.output)] == ["trio"]
    closed = runner.invoke(app, ["group-buys", "close-due", "--json"])
    assert json.loads(closed.output) == {"robot_filled": 0, "failed": 0, "refunds": 0}
    twice = runner.invoke(
        app,
        ["group-buys", "create", "--key", "trio", "--name", "x", "--product", "p", "--price",
         "1", "--size", "1", "--hours", "1", "--start", "2026-12-12T20:00", "--end",
         "2026-12-13T20:00"],
    )  # fmt: skip
    assert twice.exit_code == 2 and "size" in twice.output

    ids = people(2)
    now = datetime.now(UTC)
    with unit_of_work() as s:
        group_buys.create_group_buy(
            s, "duo", "双人团", "CUP-500", 5900, 2, 1, now - timedelta(hours=3), now
        )
        group_buys.open_group(s, "duo", ids[0], "SO-0", 5900, now=now - timedelta(hours=2))
    closed = runner.invoke(app, ["group-buys", "close-due", "--json"])
    assert json.loads(closed.output) == {"robot_filled": 0, "failed": 1, "refunds": 1}
    pending = runner.invoke(app, ["refunds", "list", "--status", "pending", "--json"])
    [refund] = json.loads(pending.output)
    assert (refund["customer_id"], refund["amount_fen"]) == (ids[0], 5900)
    confirmed = runner.invoke(
        app, ["refunds", "confirm", str(refund["id"]), "--reference", "R-1", "--json"]
    )
    assert json.loads(confirmed.output)["status"] == "confirmed", confirmed.output
    left = runner.invoke(app, ["refunds", "list", "--status", "pending", "--json"])
    assert json.loads(left.output) == []
    wrong = runner.invoke(app, ["refunds", "list", "--status", "done"])
    assert wrong.exit_code == 2 and "status" in wrong.output
