"""Tiered prices (阶梯价): each participant pays the price for the count with them in it; at the
close the final count sets the final price and each who paid more is owed exactly the
difference, once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from siyu import work
from siyu.core import jobs
from siyu.core.db import unit_of_work, write_lock
from siyu.core.errors import Conflict, InvalidInput, SiyuError
from siyu.events.models import OutboxEvent
from siyu.promotions import tiered
from siyu.promotions.models import PromotionRefund, TieredParticipant, TieredPrice
from tests.promotions.test_flash_sales import people

NOON = datetime(2026, 12, 12, 4, tzinfo=UTC)
START, END = NOON - timedelta(hours=1), NOON + timedelta(days=3)
TIERS = [(3, 8900), (5, 7900)]  # from 3 participants ¥89, from 5 ¥79; ¥99 before


def activity(key: str = "steps", tiers=TIERS, **given) -> None:
    values = {
        "name": "阶梯价 保温杯",
        "product": "CUP-500",
        "base_price_fen": 9900,
        "tiers": tiers,
        "starts_at": START,
        "ends_at": END,
    } | given
    with unit_of_work() as s:
        tiered.create_tiered(s, key, **values)


def take_part(customer: int, key: str = "steps", now=NOON) -> TieredParticipant:
    with unit_of_work() as s:
        return tiered.join(s, key, customer, f"SO-{customer}", now=now)


def close(key: str = "steps", now=NOON) -> TieredPrice:
    with unit_of_work() as s:
        return tiered.close(s, key, now=now)


def refunds() -> dict[int, int]:
    with unit_of_work() as s:
        return dict(
            s.execute(select(PromotionRefund.customer_id, PromotionRefund.amount_fen)).all()
        )


def paid() -> dict[int, int]:
    with unit_of_work() as s:
        return dict(
            s.execute(select(TieredParticipant.customer_id, TieredParticipant.price_fen)).all()
        )


def refused(call, *args, **kwargs) -> SiyuError:
    with pytest.raises(SiyuError) as caught, unit_of_work() as s:
        call(s, *args, **kwargs)
    return caught.value


def events_named(event: str) -> int:
    with unit_of_work() as s:
        counted = select(func.count()).select_from(OutboxEvent).where(OutboxEvent.event == event)
        return s.scalar(counted) or 0


def test_tiers_step_down_as_participants_grow():
    for tiers in ([], [(3, 9900)], [(3, 8900), (3, 7900)], [(3, 8900), (5, 8900)], [(0, 8900)]):
        with pytest.raises(InvalidInput) as caught:
            activity(tiers=tiers)
        assert caught.value.field == "tiers", tiers
    activity(tiers=[(5, 7900), (3, 8900)])  # given in any order
    with unit_of_work() as s:
        shown = tiered.summary(tiered.find_tiered(s, "steps"), NOON)
    assert shown["tiers"] == [
        {"participants": 3, "price": 89.0},
        {"participants": 5, "price": 79.0},
    ]
    assert (shown["current_price"], shown["price_to_join"]) == (99.0, 99.0)
    assert shown["next_tier"] == {"participants": 3, "price": 89.0, "price_fen": 8900, "needed": 3}
    with pytest.raises(Conflict):
        activity()


def test_each_pays_the_price_of_their_place_and_is_refunded_the_difference_once():
    ids = people(6)
    activity()
    prices = [take_part(c).price_fen for c in ids]
    assert prices == [9900, 9900, 8900, 8900, 7900, 7900]
    assert events_named(tiered.JOINED) == 6
    closed = close(now=NOON + timedelta(hours=1))
    assert (closed.status, closed.final_price_fen, closed.participants) == ("closed", 7900, 6)
    owed = refunds()
    assert owed == {ids[0]: 2000, ids[1]: 2000, ids[2]: 1000, ids[3]: 1000}
    assert sum(owed.values()) == sum(p - 7900 for p in paid().values())
    assert events_named("Promotion Refund Issued") == 4
    # closing again, or the job at the end, emits nothing more
    assert close(now=NOON + timedelta(hours=2)).closed_at == NOON + timedelta(hours=1)
    with unit_of_work() as s:
        assert tiered.close_due(s, now=END) == 0
    assert refunds() == owed and events_named("Promotion Refund Issued") == 4
    late = refused(tiered.join, "steps", ids[0], "SO-late", now=NOON + timedelta(hours=3))
    assert (late.status, late.code, late.field) == (409, "closed", "key")


def test_a_customer_takes_part_once_and_an_order_pays_once():
    ids = people(2)
    activity()
    take_part(ids[0])
    twice = refused(tiered.join, "steps", ids[0], "SO-other", now=NOON)
    assert (twice.status, twice.code, twice.field) == (409, "already_joined", "customer")
    same_order = refused(tiered.join, "steps", ids[1], f"SO-{ids[0]}", now=NOON)
    assert (same_order.code, same_order.field) == ("order_used", "order_id")
    early = refused(tiered.join, "steps", ids[1], "SO-early", now=START - timedelta(minutes=1))
    assert (early.code, early.field) == ("not_live", "key")
    with unit_of_work() as s:
        assert tiered.find_tiered(s, "steps").participants == 1


def test_an_activity_short_of_every_tier_refunds_nobody():
    ids = people(2)
    activity()
    take_part(ids[0])
    take_part(ids[1])
    assert close().final_price_fen == 9900
    assert refunds() == {}


def test_twenty_participants_at_once_each_get_a_place_of_their_own():
    ids = people(20)
    activity(tiers=[(5, 9000), (12, 8000), (17, 7000)])
    errors: list[BaseException] = []

    def join(customer: int) -> None:
        try:
            with write_lock(), unit_of_work() as s:
                tiered.join(s, "steps", customer, f"SO-{customer}", now=NOON)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=join, args=(c,)) for c in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with unit_of_work() as s:
        places = dict(s.execute(select(TieredParticipant.place, TieredParticipant.price_fen)).all())
    assert sorted(places) == list(range(1, 21))
    assert [places[n] for n in (1, 4, 5, 11, 12, 16, 17, 20)] == [
        9900,
        9900,
        9000,
        9000,
        8000,
        8000,
        7000,
        7000,
    ]
    close()
    owed = refunds()
    assert len(owed) == 16  # all but the four who paid the final price
    assert sum(owed.values()) == sum(p - 7000 for p in paid().values())


def test_the_worker_closes_activities_past_their_end():
    ids = people(3)
    now = datetime.now(UTC)
    activity(starts_at=now - timedelta(hours=2), ends_at=now - timedelta(minutes=1))
    for c in ids:
        take_part(c, now=now - timedelta(hours=1))
    schedule = next(s for s in work.SCHEDULES if s.name == "tiered-close")
    assert (schedule.cron, schedule.kind) == ("* * * * *", tiered.CLOSE_KIND)
    with unit_of_work() as s:
        jobs.enqueue(s, tiered.CLOSE_KIND, "test-tiered-close")
    assert work.run_one()
    with unit_of_work() as s:
        assert tiered.find_tiered(s, "steps").final_price_fen == 8900
    assert refunds() == {ids[0]: 1000, ids[1]: 1000}
