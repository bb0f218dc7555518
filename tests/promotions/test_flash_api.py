"""/api/flash-sales: the mall reserves, confirms, cancels and joins the waiting list with a
`mall` token, each write once per Idempotency-Key; `siyu flash-sales` sets a sale up."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from typer.testing import CliRunner

from siyu.cli import app
from siyu.core.auth import create_token
from siyu.core.db import unit_of_work
from siyu.promotions import flash
from siyu.promotions.models import FlashReservation
from tests.promotions.test_flash_sales import people


def token(role: str) -> dict[str, str]:
    with unit_of_work() as s:
        _, secret = create_token(s, role, role)
    return {"Authorization": f"Bearer {secret}"}


def live_sale(key: str = "rush", stock: int = 2, per_customer: int = 1) -> None:
    now = datetime.now(UTC)
    with unit_of_work() as s:
        flash.create_sale(
            s,
            key,
            "双十二 保温杯",
            "CUP-500",
            9900,
            stock,
            per_customer,
            now - timedelta(hours=1),
            now + timedelta(days=1),
        )


def reservations() -> int:
    with unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(FlashReservation)) or 0


def test_the_mall_reserves_confirms_cancels_and_waits(client):
    ids = people(4)
    live_sale(stock=3, per_customer=2)
    mall = token("mall")
    made = client.post("/api/flash-sales/rush/reservations", headers=mall, json={"customer": "b0"})
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["sale"], body["customer_id"], body["quantity"], body["status"]) == (
        "rush",
        ids[0],
        1,
        "held",
    )
    assert (body["price"], body["price_fen"]) == (99.0, 9900)
    assert datetime.fromisoformat(body["expires_at"]) > datetime.now(UTC)
    over = client.post(
        "/api/flash-sales/rush/reservations", headers=mall, json={"customer": ids[0], "quantity": 2}
    )
    assert over.status_code == 422 and over.json()["error"]["code"] == "over_limit", over.text
    second = client.post(
        "/api/flash-sales/rush/reservations", headers=mall, json={"customer": ids[1], "quantity": 2}
    )
    assert second.status_code == 201, second.text
    sold_out = client.post(
        "/api/flash-sales/rush/reservations", headers=mall, json={"customer": ids[2]}
    )
    assert sold_out.status_code == 409, sold_out.text
    assert sold_out.json()["error"] == {"code": "sold_out", "message": "sold out", "field": "key"}
    waiting = client.post("/api/flash-sales/rush/waitlist", headers=mall, json={"customer": "b2"})
    assert waiting.status_code == 201, waiting.text
    assert (waiting.json()["status"], waiting.json()["place"]) == ("waiting", 1)

    path = f"/api/flash-sales/rush/reservations/{body['id']}"
    confirmed = client.post(f"{path}/confirm", headers=mall, json={"order_id": "SO-1"})
    assert confirmed.status_code == 200, confirmed.text
    assert (confirmed.json()["status"], confirmed.json()["order_id"]) == ("confirmed", "SO-1")
    other = client.post(f"{path}/confirm", headers=mall, json={"order_id": "SO-2"})
    assert other.status_code == 409, other.text
    let_go = client.post(
        f"/api/flash-sales/rush/reservations/{second.json()['id']}/cancel", headers=mall
    )
    assert (let_go.status_code, let_go.json()["status"]) == (200, "cancelled"), let_go.text

    shown = client.get("/api/flash-sales/rush", headers=mall)
    assert shown.status_code == 200, shown.text
    # of the two units let go, one went to the customer waiting
    assert {k: shown.json()[k] for k in ("stock", "held", "sold", "available", "waiting")} == {
        "stock": 3,
        "held": 1,
        "sold": 1,
        "available": 1,
        "waiting": 0,
    }
    assert (shown.json()["status"], shown.json()["live"]) == ("active", True)


def test_who_may_see_and_write(client):
    ids = people(1)
    live_sale()
    mall, analyst = token("mall"), token("analyst")
    assert client.get("/api/flash-sales/rush", headers=analyst).status_code == 200
    assert client.get("/api/flash-sales/nope", headers=mall).status_code == 404
    assert client.get(f"/api/customers/{ids[0]}", headers=mall).status_code == 403
    write = client.post("/api/flash-sales/rush/reservations", headers=analyst, json={"customer": 1})
    assert write.status_code == 403, write.text
    unknown = client.post(
        "/api/flash-sales/rush/reservations", headers=mall, json={"customer": "nobody"}
    )
    assert (unknown.status_code, unknown.json()["error"]["field"]) == (404, "customer")
    assert reservations() == 0


def test_a_retried_reservation_gets_its_first_answer_and_holds_nothing_more(client):
    ids = people(2)
    live_sale(stock=5)
    mall = token("mall")
    once = {**mall, "Idempotency-Key": "cart-42"}
    first = client.post(
        "/api/flash-sales/rush/reservations", headers=once, json={"customer": ids[0]}
    )
    again = client.post(
        "/api/flash-sales/rush/reservations", headers=once, json={"customer": ids[0]}
    )
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.json() == first.json()
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert reservations() == 1
    reused = client.post(
        "/api/flash-sales/rush/reservations", headers=once, json={"customer": ids[1]}
    )
    assert reused.status_code == 400, reused.text
    assert reused.json()["error"]["field"] == "Idempotency-Key"
    # a refusal is an answer too: retried, it is refused the same way without being tried again
    limit = {**mall, "Idempotency-Key": "cart-43"}
    refusals = [
        client.post("/api/flash-sales/rush/reservations", headers=limit, json={"customer": ids[0]})
        for _ in range(2)
    ]
    assert [r.status_code for r in refusals] == [422, 422]
    assert refusals[0].json() == refusals[1].json()
    assert reservations() == 1


def test_the_cli_sets_a_sale_up_and_shows_what_is_left():
    runner = CliRunner()
    made = runner.invoke(
        app,
        [
            "flash-sales",
            "create",
            "--key",
            "double-12",
            "--name",
            "双十二 保温杯",
            "--product",
            "CUP-500",
            "--price",
            "99.90",
            "--stock",
            "20",
            "--per-customer",
            "1",
            "--start",
            "2026-12-12T20:00:00",
            "--end",
            "2026-12-12T22:00:00+08:00",
            "--hold-minutes",
            "10",
            "--json",
        ],
    )
    assert made.exit_code == 0, made.output
    assert json.loads(made.output)["price_fen"] == 9990
    shown = runner.invoke(app, ["flash-sales", "show", "double-12", "--json"])
    assert shown.exit_code == 0, shown.output
    row = json.loads(shown.output)
    assert {k: row[k] for k in ("stock", "held", "sold", "available", "waiting")} == {
        "stock": 20,
        "held": 0,
        "sold": 0,
        "available": 20,
        "waiting": 0,
    }
    # a time without an offset is the brand's (Asia/Shanghai in the tests)
    assert row["starts_at"] == "2026-12-12T12:00:00+00:00"
    assert (row["hold_minutes"], row["status"]) == (10, "active")
    paused = runner.invoke(app, ["flash-sales", "pause", "double-12", "--json"])
    assert json.loads(paused.output)["status"] == "paused", paused.output
    listed = runner.invoke(app, ["flash-sales", "list", "--json"])
    assert [r["key"] for r in json.loads(listed.output)] == ["double-12"]
    lapsed = runner.invoke(app, ["flash-sales", "lapse", "--json"])
    assert json.loads(lapsed.output) == {"lapsed": 0}, lapsed.output
    twice = runner.invoke(
        app,
        [
            "flash-sales",
            "create",
            "--key",
            "double-12",
            "--name",
            "x",
            "--product",
            "p",
            "--price",
            "1",
            "--stock",
            "1",
            "--per-customer",
            "1",
            "--start",
            "2026-12-12T20:00",
            "--end",
            "2026-12-12T21:00",
        ],
    )
    assert twice.exit_code == 2 and "key" in twice.output
