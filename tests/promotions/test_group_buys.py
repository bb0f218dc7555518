"""Group buys (拼团): a group that reaches its size succeeds once, a full group takes nobody
more, concurrent joiners never pass the size, and a group short at its deadline fails with its
refunds emitted exactly once (or is filled by the house, recorded as such)."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from siyu import work
from siyu.core import jobs
from siyu.core.db import unit_of_work, write_lock
from siyu.core.errors import Conflict, InvalidInput, SiyuError
from siyu.events.models import OutboxEvent
from siyu.promotions import group_buys
from siyu.promotions.models import BuyGroup, GroupMember, PromotionRefund
from tests.promotions.test_flash_sales import people

NOON = datetime(2026, 12, 12, 4, tzinfo=UTC)
START, END = NOON - timedelta(hours=1), NOON + timedelta(days=1)


def group_buy(key: str = "duo", size: int = 3, hours: int = 24, **given) -> None:
    values = {
        "name": "双人拼 保温杯",
        "product": "CUP-500",
        "price_fen": 5900,
        "size": size,
        "hours": hours,
        "starts_at": START,
        "ends_at": END,
    } | given
    with unit_of_work() as s:
        group_buys.create_group_buy(s, key, **values)


def open_group(leader: int, key: str = "duo", now=NOON, amount_fen: int = 5900) -> str:
    with unit_of_work() as s:
        return group_buys.open_group(s, key, leader, f"SO-{leader}", amount_fen, now=now).code


def join(code: str, customer: int, now=NOON, order: str | None = None) -> BuyGroup:
    with unit_of_work() as s:
        return group_buys.join_group(s, code, customer, order or f"SO-{customer}", 5900, now=now)


def refused(call, *args, **kwargs) -> SiyuError:
    with pytest.raises(SiyuError) as caught, unit_of_work() as s:
        call(s, *args, **kwargs)
    return caught.value


def events_named(event: str) -> list[OutboxEvent]:
    with unit_of_work() as s:
        return list(s.scalars(select(OutboxEvent).where(OutboxEvent.event == event)))


def group(code: str) -> BuyGroup:
    with unit_of_work() as s:
        return group_buys.find_group(s, code)


def refunds() -> list[PromotionRefund]:
    with unit_of_work() as s:
        return list(s.scalars(select(PromotionRefund).order_by(PromotionRefund.id)))


def test_a_group_buy_names_the_value_that_is_wrong():
    for given, field in [
        ({"size": 1}, "size"),
        ({"hours": 0}, "hours"),
        ({"price_fen": 0}, "price"),
        ({"name": " "}, "name"),
        ({"ends_at": START}, "ends_at"),
    ]:
        with pytest.raises(InvalidInput) as caught:
            group_buy(**given)
        assert caught.value.field == field, given
    with pytest.raises(InvalidInput) as caught:
        group_buy("Bad Key")
    assert caught.value.field == "key"
    group_buy()
    with pytest.raises(Conflict) as taken:
        group_buy()
    assert taken.value.field == "key"


def test_a_group_that_reaches_its_size_succeeds_once_and_a_late_joiner_is_refused():
    ids = people(5)
    group_buy(size=3)
    code = open_group(ids[0])
    opened = group(code)
    assert (opened.status, opened.members, opened.deadline) == (
        "open",
        1,
        NOON + timedelta(hours=24),
    )
    assert join(code, ids[1]).status == "open"
    full = join(code, ids[2])
    assert (full.status, full.members, full.closed_at) == ("succeeded", 3, NOON)
    late = refused(group_buys.join_group, code, ids[3], "SO-late", 5900, now=NOON)
    assert (late.status, late.code, late.field) == (409, "full", "code")
    assert group(code).members == 3
    succeeded = events_named(group_buys.SUCCEEDED)
    assert len(succeeded) == 1
    assert succeeded[0].customer_id == ids[0]  # the leader's group
    assert len(events_named(group_buys.OPENED)) == 1
    assert len(events_named(group_buys.JOINED)) == 2
    with unit_of_work() as s:  # nothing more to do at the deadline
        assert group_buys.close_due(s, now=NOON + timedelta(days=2)) == (0, 0, 0)
    assert refunds() == []


def test_a_customer_joins_a_group_once_and_an_order_pays_for_one_place():
    ids = people(3)
    group_buy(size=4)
    code = open_group(ids[0])
    leader_again = refused(group_buys.join_group, code, ids[0], "SO-x", 5900, now=NOON)
    assert (leader_again.code, leader_again.field) == ("already_joined", "customer")
    join(code, ids[1])
    twice = refused(group_buys.join_group, code, ids[1], "SO-y", 5900, now=NOON)
    assert (twice.status, twice.code) == (409, "already_joined")
    same_order = refused(group_buys.join_group, code, ids[2], f"SO-{ids[1]}", 5900, now=NOON)
    assert (same_order.code, same_order.field) == ("order_used", "order_id")
    assert group(code).members == 2
    unknown = refused(group_buys.join_group, "NOPE", ids[2], "SO-z", 5900, now=NOON)
    assert (unknown.status, unknown.field) == (404, "code")
    # a leader may lead more than one group of the same buy
    with unit_of_work() as s:
        second = group_buys.open_group(s, "duo", ids[0], "SO-second", 5900, now=NOON)
        assert second.code != code


def test_a_group_closes_at_its_deadline_and_groups_open_only_while_the_buy_is_on():
    ids = people(2)
    group_buy(size=2, hours=2)
    code = open_group(ids[0])
    after = NOON + timedelta(hours=2)
    closed = refused(group_buys.join_group, code, ids[1], "SO-1", 5900, now=after)
    assert (closed.code, closed.field) == ("closed", "code")
    early = refused(group_buys.open_group, "duo", ids[1], "SO-2", 5900, now=START - timedelta(1))
    assert (early.code, early.field) == ("not_live", "key")
    # a group opened near the buy's end has until the end, not its full hours
    with unit_of_work() as s:
        late = group_buys.open_group(s, "duo", ids[1], "SO-3", 5900, now=END - timedelta(hours=1))
        assert late.deadline == END


def test_thirty_customers_joining_at_once_fill_a_group_of_five_exactly():
    ids = people(31)
    group_buy(size=5)
    code = open_group(ids[0])
    now = NOON + timedelta(minutes=5)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def take(customer: int) -> None:
        try:
            with write_lock(), unit_of_work() as s:
                group_buys.join_group(s, code, customer, f"SO-{customer}", 5900, now=now)
            outcomes.append("joined")
        except SiyuError as refusal:
            outcomes.append(refusal.code)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=take, args=(c,)) for c in ids[1:]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert Counter(outcomes) == {"joined": 4, "full": 26}
    full = group(code)
    assert (full.status, full.members) == ("succeeded", 5)
    with unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(GroupMember)) == 5
    assert len(events_named(group_buys.SUCCEEDED)) == 1
    assert len(events_named(group_buys.JOINED)) == 4


def test_a_group_short_at_its_deadline_fails_and_its_refunds_are_emitted_once():
    ids = people(4)
    group_buy(size=4, hours=2)
    code = open_group(ids[0], amount_fen=5900)
    join(code, ids[1])
    with unit_of_work() as s:
        group_buys.join_group(s, code, ids[2], "SO-coupon", 4900, now=NOON)  # paid less
    filled = open_group(ids[3])
    for n in (0, 1, 2):
        join(filled, ids[n], order=f"SO-full-{n}")
    before = NOON + timedelta(hours=1)
    with unit_of_work() as s:
        assert group_buys.close_due(s, now=before) == (0, 0, 0)
    after = NOON + timedelta(hours=2)
    with unit_of_work() as s:
        assert group_buys.close_due(s, now=after) == (0, 1, 3)
    with unit_of_work() as s:  # the job again: nothing more
        assert group_buys.close_due(s, now=after + timedelta(minutes=1)) == (0, 0, 0)
    failed = group(code)
    assert (failed.status, failed.members, failed.closed_at) == ("failed", 3, after)
    assert group(filled).status == "succeeded"
    made = refunds()
    assert [(r.customer_id, r.order_id, r.amount_fen) for r in made] == [
        (ids[0], f"SO-{ids[0]}", 5900),
        (ids[1], f"SO-{ids[1]}", 5900),
        (ids[2], "SO-coupon", 4900),
    ]
    assert {(r.kind, r.reason, r.status, r.activity) for r in made} == {
        ("group_buy", "group_failed", "pending", "duo")
    }
    assert len(events_named(group_buys.FAILED)) == 1
    assert len(events_named("Promotion Refund Issued")) == 3


def test_deadline_jobs_running_at_once_emit_each_refund_once():
    ids = people(12)
    group_buy(size=5, hours=1)
    codes = [open_group(leader) for leader in ids[:4]]
    for n, code in enumerate(codes):
        for member in ids[4 + 2 * n : 6 + 2 * n]:
            join(code, member, order=f"SO-{code}-{member}")
    after = NOON + timedelta(hours=1)
    errors: list[BaseException] = []

    def close() -> None:
        try:
            with write_lock(), unit_of_work() as s:
                group_buys.close_due(s, now=after)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=close) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    made = refunds()
    assert len(made) == 4 * 3
    assert len({r.order_id for r in made}) == 12
    assert len(events_named(group_buys.FAILED)) == 4
    assert len(events_named("Promotion Refund Issued")) == 12


def test_the_house_fills_a_short_group_when_the_buy_says_so():
    ids = people(2)
    group_buy(size=5, hours=1, robot_fill=True)
    code = open_group(ids[0])
    join(code, ids[1])
    with unit_of_work() as s:
        assert group_buys.close_due(s, now=NOON + timedelta(hours=1)) == (1, 0, 0)
    filled = group(code)
    assert (filled.status, filled.members, filled.robot_filled) == ("succeeded", 2, 3)
    assert refunds() == []
    [succeeded] = events_named(group_buys.SUCCEEDED)
    assert '"robot_filled":3' in succeeded.properties.replace(" ", "")
    with unit_of_work() as s:
        shown = group_buys.summary(s, group_buys.find_group_buy(s, "duo"), NOON)
    assert (shown["groups"], shown["members"], shown["robot_filled"]) == (
        {"open": 0, "succeeded": 1, "failed": 0},
        2,
        3,
    )


def test_the_worker_closes_groups_past_their_deadline_every_minute():
    ids = people(1)
    now = datetime.now(UTC)
    group_buy(size=2, hours=1, starts_at=now - timedelta(hours=3), ends_at=now + timedelta(days=1))
    code = open_group(ids[0], now=now - timedelta(hours=2))
    schedule = next(s for s in work.SCHEDULES if s.name == "group-buy-deadlines")
    assert (schedule.cron, schedule.kind) == ("* * * * *", group_buys.DEADLINES_KIND)
    with unit_of_work() as s:
        jobs.enqueue(s, group_buys.DEADLINES_KIND, "test-deadlines")
    assert work.run_one()
    assert group(code).status == "failed"
    assert [r.customer_id for r in refunds()] == ids
