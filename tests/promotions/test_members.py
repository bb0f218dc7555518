"""Member tiers and points: orders arriving as events move a customer's tier and points, a
tier's coupon is issued once per reaching, the nightly pass steps down those whose spend slid
out of the window, refunds take back their share once, racing spends never go below zero, and
the ledger balances."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import func, select

from siyu.core.db import unit_of_work, write_lock
from siyu.core.errors import Conflict
from siyu.events import catalogue
from siyu.events.models import OutboxEvent
from siyu.events.service import ingest
from siyu.events.sources import internal_source
from siyu.promotions import members, points
from siyu.promotions import service as promotions
from siyu.promotions.member_models import Membership, PointsEntry
from siyu.promotions.models import Coupon
from tests.helpers import track
from tests.promotions.test_flash_sales import people

NOW = datetime.now(UTC).replace(microsecond=0)


def brand(per_yuan: int = 1, window_days: int = 365) -> None:
    """普通 from nothing, 银卡 from 1,000 yuan, 金卡 from 5,000 with a ¥50 coupon."""
    with unit_of_work() as s:
        promotions.create_template(s, "gold-gift", "金卡礼券", "amount", amount_fen=5000,
                                   valid_days=30, per_customer=5)  # fmt: skip
        promotions.create_template(s, "points-5", "积分兑 5 元券", "amount", amount_fen=500,
                                   valid_days=30, per_customer=100)  # fmt: skip
        members.set_settings(s, per_yuan, "spend", window_days)
        members.save_tier(s, "normal", "普通", 0)
        members.save_tier(s, "silver", "银卡", 100_000, benefits="95 折")
        members.save_tier(s, "gold", "金卡", 500_000, "gold-gift", "9 折\n生日礼")
        points.set_reward(s, "points-5", 30)


def order(event: str, user: str, order_id: str, yuan: str | None, at: datetime, **extra) -> None:
    properties = {"order_id": order_id, **({"revenue": yuan} if yuan else {})}
    message = track(event, user, properties=properties, timestamp=at.isoformat(), **extra)
    with unit_of_work() as s:
        result = ingest(s, internal_source(s, "mall"), [message], NOW)
        assert not result.rejected, result.rejected


def tier_of(customer: int) -> str | None:
    with unit_of_work() as s:
        return members.member_card(s, customer).tier_key


def coupons_of(customer: int, template: str = "gold-gift") -> int:
    with unit_of_work() as s:
        gift = promotions.find_template(s, template)
        return s.scalar(
            select(func.count())
            .select_from(Coupon)
            .where(Coupon.customer_id == customer, Coupon.template_id == gift.id)
        )


def events_named(name: str) -> list[dict]:
    with unit_of_work() as s:
        rows = s.scalars(select(OutboxEvent).where(OutboxEvent.event == name)).all()
        return [{"customer": r.customer_id, **orjson.loads(r.properties)} for r in rows]


def test_reaching_a_tier_by_spend_within_the_window_issues_its_coupon_once():
    ids = people(2)
    brand()
    order("Order Completed", "b0", "SO-1", "800", NOW - timedelta(days=3))
    assert tier_of(ids[0]) == "normal"
    order("Order Completed", "b0", "SO-2", "300", NOW - timedelta(days=2))
    assert tier_of(ids[0]) == "silver"
    order("Order Completed", "b0", "SO-3", "4000", NOW - timedelta(days=1))
    assert tier_of(ids[0]) == "gold"
    assert coupons_of(ids[0]) == 1
    order("Order Completed", "b0", "SO-4", "100", NOW)  # still gold: no second coupon
    assert (tier_of(ids[0]), coupons_of(ids[0])) == ("gold", 1)
    # an order more than a year old counts for nothing
    order("Order Completed", "b1", "SO-old", "9000", NOW - timedelta(days=400))
    assert tier_of(ids[1]) == "normal"
    changes = [(e["customer"], e["from_tier"], e["to_tier"]) for e in events_named("Tier Changed")]
    assert changes == [
        (ids[0], None, "normal"),
        (ids[0], "normal", "silver"),
        (ids[0], "silver", "gold"),
        (ids[1], None, "normal"),
    ]
    with unit_of_work() as s:
        card = members.member_card(s, ids[0])
    assert (card.tier, card.points, card.next_tier) == ("金卡", 5200, None)
    assert card.benefits == ["9 折", "生日礼", "金卡礼券"]


def test_sliding_out_of_the_window_steps_down_and_reaching_again_issues_again():
    ids = people(1)
    brand(window_days=30)
    order("Order Completed", "b0", "SO-1", "5000", NOW - timedelta(days=20))
    assert (tier_of(ids[0]), coupons_of(ids[0])) == ("gold", 1)
    with unit_of_work() as s:
        assert members.step_down_due(s, NOW + timedelta(days=5)) == 0
        assert members.step_down_due(s, NOW + timedelta(days=11)) == 1
    assert tier_of(ids[0]) == "normal"
    assert events_named("Tier Changed")[-1]["direction"] == "down"
    with unit_of_work() as s:
        card = members.member_card(s, ids[0])
    assert (card.next_tier, card.missing) == ("银卡", 100_000)
    order("Order Completed", "b0", "SO-2", "5200", NOW)
    assert (tier_of(ids[0]), coupons_of(ids[0])) == ("gold", 2)


def test_a_refund_reverses_its_share_of_the_points_once():
    ids = people(1)
    brand(per_yuan=2)
    order("Order Completed", "b0", "SO-1", "199.99", NOW - timedelta(days=1))
    order("Order Completed", "b0", "SO-2", "50", NOW - timedelta(days=1))
    assert _balance(ids[0]) == 399 + 100
    partial = track(
        "Order Refunded", "b0", properties={"order_id": "SO-1", "revenue": "100"},
        timestamp=NOW.isoformat(),
    )  # fmt: skip
    for _ in range(2):  # the same refund told twice
        with unit_of_work() as s:
            ingest(s, internal_source(s, "mall"), [partial], NOW)
    assert _balance(ids[0]) == 499 - 399 * 10000 // 19999
    order("Order Refunded", "b0", "SO-1", None, NOW)  # the rest of it
    assert _balance(ids[0]) == 100
    order("Order Refunded", "b0", "SO-1", None, NOW)  # refunded twice: nothing more
    assert _balance(ids[0]) == 100
    reversed_ = [e["points"] for e in events_named("Points Reversed")]
    assert sum(reversed_) == -399 and len(reversed_) == 2
    _assert_balanced()


def test_a_refund_never_takes_more_than_is_left():
    ids = people(1)
    brand(per_yuan=1)
    order("Order Completed", "b0", "SO-1", "100", NOW - timedelta(days=1))
    with unit_of_work() as s:
        points.spend(s, ids[0], "points-5")
        points.spend(s, ids[0], "points-5")
    order("Order Refunded", "b0", "SO-1", None, NOW)
    assert _balance(ids[0]) == 0
    _assert_balanced()


def test_racing_spends_never_take_the_balance_below_zero():
    ids = people(1)
    brand(per_yuan=1)
    order("Order Completed", "b0", "SO-1", "100", NOW - timedelta(days=1))
    results: list[str] = []

    def buy() -> None:
        try:
            with write_lock(), unit_of_work() as s:
                points.spend(s, ids[0], "points-5")
            results.append("spent")
        except Conflict as error:
            results.append(error.field or "")

    threads = [threading.Thread(target=buy) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["points"] * 5 + ["spent"] * 3
    assert _balance(ids[0]) == 10
    assert coupons_of(ids[0], "points-5") == 3
    _assert_balanced()


def test_an_adjustment_needs_a_reason_and_the_check_finds_a_balance_that_drifted():
    ids = people(1)
    brand()
    with unit_of_work() as s:
        points.adjust(s, ids[0], 50, "客服补偿")
        assert points.check(s) == []
        s.get_one(Membership, ids[0]).points = 70  # written around the ledger
        s.flush()
        drifted = points.check(s)
    assert [(d.customer_id, d.balance, d.ledger_sum) for d in drifted] == [(ids[0], 70, 50)]


def test_points_and_tier_events_are_the_brands_not_the_customers_activity():
    ids = people(1)
    brand()
    order("Order Completed", "b0", "SO-1", "100", NOW)
    assert events_named("Points Earned") and events_named("Tier Changed")
    kinds = ("Tier Changed", "Points Earned", "Points Reversed", "Points Spent", "Points Adjusted")
    assert all(not catalogue.is_customer_act(kind) for kind in kinds)
    assert set(kinds) <= set(catalogue.not_customer_events())
    assert ids


def _balance(customer: int) -> int:
    with unit_of_work() as s:
        return points.balance(s, customer)


def _assert_balanced() -> None:
    with unit_of_work() as s:
        assert points.check(s) == []
        last = s.scalars(select(PointsEntry).order_by(PointsEntry.id.desc())).first()
        assert last is not None and last.balance == points.balance(s, last.customer_id)
