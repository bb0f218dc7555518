"""The rush: 500 customers reserve at once from a flash sale of 20 units, one each, through the
real server (uvicorn on a loopback port) from 40 client threads. Exactly 20 get a unit, each a
different customer; a retry with the same Idempotency-Key gets its first answer; and when the
holds lapse, the units go to the waiting list in the order it was joined."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from siyu.app import create_app
from siyu.core.auth import create_token
from siyu.core.db import unit_of_work
from siyu.customers.models import Customer
from siyu.promotions import flash
from siyu.promotions.models import FlashBuyer, FlashReservation, FlashSale, FlashWaiter
from tests.helpers import serving

CUSTOMERS = 500
STOCK = 20
THREADS = 40
WAITERS = 30


@pytest.fixture
def server() -> Iterator[str]:
    with serving(create_app()) as (host, port):
        yield f"http://{host}:{port}"


def crowd() -> list[int]:
    with unit_of_work() as s:
        people = [Customer(traits={"name": f"买家{n}"}) for n in range(CUSTOMERS)]
        s.add_all(people)
        s.flush()
        return [p.id for p in people]


def open_sale(key: str) -> None:
    now = datetime.now(UTC)
    with unit_of_work() as s:
        flash.create_sale(
            s, key, "双十二 保温杯", "CUP-500", 9900, STOCK, 1, now, now + timedelta(days=1)
        )


def mall_token() -> str:
    with unit_of_work() as s:
        return create_token(s, "mall", "mall")[1]


def rush(server: str, secret: str, key: str, requests: list[tuple[str | None, int]]) -> list:
    """Each (idempotency key, customer) posted at once from THREADS threads; the answers as
    (idempotency key, customer, status, body, replayed), in the order given."""
    client = httpx.Client(
        base_url=server,
        timeout=60,
        limits=httpx.Limits(max_connections=THREADS, max_keepalive_connections=THREADS),
        headers={"Authorization": f"Bearer {secret}"},
    )

    def post(request: tuple[str | None, int]) -> tuple:
        idempotency_key, customer = request
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        answer = client.post(
            f"/api/flash-sales/{key}/reservations", json={"customer": customer}, headers=headers
        )
        replayed = answer.headers.get("Idempotent-Replayed") == "true"
        return idempotency_key, customer, answer.status_code, answer.json(), replayed

    with client, ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(post, requests))


def held(key: str) -> tuple[int, list[int]]:
    """The sale's held count, and the customers holding its reservations."""
    with unit_of_work() as s:
        sale = flash.find_sale(s, key)
        holders = s.scalars(
            select(FlashReservation.customer_id).where(
                FlashReservation.sale_id == sale.id, FlashReservation.status == "held"
            )
        ).all()
        return sale.held, list(holders)


def test_five_hundred_customers_rush_twenty_units(server):
    ids, secret = crowd(), mall_token()
    open_sale("rush")
    answers = rush(server, secret, "rush", [(None, c) for c in ids])
    assert Counter(status for *_, status, _, _ in answers) == {201: STOCK, 409: CUSTOMERS - STOCK}
    assert {b["error"]["code"] for *_, status, b, _ in answers if status == 409} == {"sold_out"}
    winners = [customer for _, customer, status, _, _ in answers if status == 201]
    count, holders = held("rush")
    assert (count, sorted(holders)) == (STOCK, sorted(winners))
    assert len(set(winners)) == STOCK
    with unit_of_work() as s:  # the losers' counts were rolled back with their attempts
        assert sorted(s.scalars(select(FlashBuyer.customer_id))) == sorted(winners)

    # the same rush on a second sale, every request sent twice with its key
    open_sale("rush-again")
    twice = [(f"cart-{c}", c) for c in ids] * 2
    random.Random(12).shuffle(twice)
    answers = rush(server, secret, "rush-again", twice)
    by_key: dict[str, list] = {}
    for idempotency_key, _, status, body, replayed in answers:
        by_key.setdefault(idempotency_key, []).append((status, body, replayed))
    assert all(len(pair) == 2 for pair in by_key.values())
    for first, second in by_key.values():
        assert first[:2] == second[:2]  # the retry got the first answer
        assert sorted([first[2], second[2]]) == [False, True]  # and said it was a replay
    assert sum(pair[0][0] == 201 for pair in by_key.values()) == STOCK
    count, holders = held("rush-again")
    assert (count, len(holders), len(set(holders))) == (STOCK, STOCK, STOCK)

    # the first sale's holds lapse: their units go to the waiting list, in the order it was joined
    losers = [c for c in ids if c not in set(winners)]
    line = random.Random(7).sample(losers, WAITERS)
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {secret}"}) as client:
        for n, customer in enumerate(line):
            joined = client.post("/api/flash-sales/rush/waitlist", json={"customer": customer})
            assert joined.status_code == 201, joined.text
            assert joined.json()["place"] == n + 1
    with unit_of_work() as s:
        later = datetime.now(UTC) + timedelta(minutes=16)
        assert flash.lapse_due(s, now=later) == 2 * STOCK  # both sales' holds
    count, holders = held("rush")
    assert (count, sorted(holders)) == (STOCK, sorted(line[:STOCK]))
    with unit_of_work() as s:
        waiting = s.scalars(
            select(FlashWaiter.customer_id)
            .join(FlashSale, FlashSale.id == FlashWaiter.sale_id)
            .where(FlashSale.key == "rush", FlashWaiter.status == "waiting")
            .order_by(FlashWaiter.created_at, FlashWaiter.id)
        ).all()
        assert list(waiting) == line[STOCK:]
        counted = dict(
            s.execute(
                select(FlashBuyer.customer_id, FlashBuyer.quantity)
                .join(FlashSale, FlashSale.id == FlashBuyer.sale_id)
                .where(FlashSale.key == "rush")
            ).all()
        )
    assert {c: counted[c] for c in winners} == dict.fromkeys(winners, 0)
    assert {c: counted[c] for c in line[:STOCK]} == dict.fromkeys(line[:STOCK], 1)
