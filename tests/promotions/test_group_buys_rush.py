"""A rush on one group: 60 customers join a group of 10 at once through the real server
(uvicorn on a loopback port) from 20 threads, each request sent twice with its Idempotency-Key.
Exactly nine join (the leader holds the first place), the group succeeds once, every retry gets
its first answer, and nobody else takes a place."""

from __future__ import annotations

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select

from siyu.core.db import unit_of_work
from siyu.events.models import OutboxEvent
from siyu.promotions import group_buys
from siyu.promotions.models import GroupMember
from tests.promotions.test_flash_rush import crowd, mall_token, server  # noqa: F401 - a fixture

SIZE = 10
JOINERS = 60
THREADS = 20


def test_sixty_customers_rush_a_group_of_ten(server):  # noqa: F811 - the fixture
    ids, secret = crowd()[: JOINERS + 1], mall_token()
    now = datetime.now(UTC)
    with unit_of_work() as s:
        group_buys.create_group_buy(
            s, "rush", "十人团", "CUP-500", 5900, SIZE, 24, now, now + timedelta(days=1)
        )
        code = group_buys.open_group(s, "rush", ids[0], "SO-leader", 5900).code
    requests = [(f"join-{c}", c) for c in ids[1:]] * 2
    random.Random(3).shuffle(requests)
    client = httpx.Client(
        base_url=server,
        timeout=60,
        limits=httpx.Limits(max_connections=THREADS, max_keepalive_connections=THREADS),
        headers={"Authorization": f"Bearer {secret}"},
    )

    def post(request: tuple[str, int]) -> tuple[str, int, dict, bool]:
        key, customer = request
        answer = client.post(
            f"/api/group-buys/groups/{code}/join",
            json={"customer": customer, "order_id": f"SO-{customer}", "amount": "59"},
            headers={"Idempotency-Key": key},
        )
        replayed = answer.headers.get("Idempotent-Replayed") == "true"
        return key, answer.status_code, answer.json(), replayed

    with client, ThreadPoolExecutor(THREADS) as pool:
        answers = list(pool.map(post, requests))
    by_key: dict[str, list] = {}
    for key, status, body, replayed in answers:
        by_key.setdefault(key, []).append((status, body, replayed))
    for first, second in by_key.values():
        assert first[:2] == second[:2]  # the retry got the first answer
        assert sorted([first[2], second[2]]) == [False, True]
    firsts = [pair[0] for pair in by_key.values()]
    assert Counter(status for status, _, _ in firsts) == {200: SIZE - 1, 409: JOINERS - SIZE + 1}
    assert {b["error"]["code"] for status, b, _ in firsts if status == 409} == {"full"}
    with unit_of_work() as s:
        group = group_buys.find_group(s, code)
        assert (group.status, group.members) == ("succeeded", SIZE)
        assert s.scalar(select(func.count()).select_from(GroupMember)) == SIZE
        succeeded = select(func.count()).where(OutboxEvent.event == group_buys.SUCCEEDED)
        assert s.scalar(succeeded) == 1
