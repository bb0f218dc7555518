"""Coupons: limits that hold, codes nobody can guess, redemption once per order, return on a
refund where the template says so, expiry and its reminder: all as lake events."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from siyu.core.db import unit_of_work, write_lock
from siyu.core.errors import Conflict, InvalidInput, SiyuError
from siyu.customers.service import find_customer
from siyu.events.models import OutboxEvent
from siyu.events.service import ingest
from siyu.events.sources import internal_source
from siyu.promotions import service as promotions
from siyu.promotions.coupons import ALPHABET, CODE_LENGTH
from siyu.promotions.models import Coupon, CouponHolding, CouponTemplate
from tests.helpers import identify

NOW = datetime(2026, 12, 1, 4, tzinfo=UTC)


def people(count: int, prefix: str = "c") -> list[int]:
    """Customers with phones 1390000xxxx, in order."""
    with unit_of_work() as s:
        ingest(
            s,
            internal_source(s, "mall"),
            [identify(f"{prefix}{n}", {"phone": f"1390000{n:04d}"}) for n in range(count)],
            NOW - timedelta(days=1),
        )
        return [find_customer(s, f"{prefix}{n}").id for n in range(count)]


def template(key: str = "fan-20", **rules) -> None:
    rules = {"kind": "amount", "amount_fen": 2000, "valid_days": 30} | rules
    with unit_of_work() as s:
        promotions.create_template(s, key, "粉丝券 20 元", rules.pop("kind"), **rules)


def events_named(event: str) -> list[OutboxEvent]:
    with unit_of_work() as s:
        return list(s.scalars(select(OutboxEvent).where(OutboxEvent.event == event)))


def test_stock_and_each_customers_limit_hold_and_codes_cannot_be_guessed():
    ids = people(5)
    template("fan-20", stock=3, per_customer=1)
    with unit_of_work() as s:
        first = promotions.issue(s, "fan-20", ids + ids[:1], now=NOW)  # the first named twice
    assert len(first.coupons) == 3
    assert dict(first.skipped) == {"out_of_stock": 2}
    with unit_of_work() as s:
        again = promotions.issue(s, "fan-20", ids[:1], now=NOW)
        assert (len(again.coupons), again.skipped["limit"]) == (0, 1)
        issued = list(s.scalars(select(Coupon)))
        assert s.scalar(select(CouponTemplate.issued)) == 3
        # the two left without stock hold nothing, so a later template's stock could reach them
        assert s.scalar(select(func.sum(CouponHolding.count))) == 3
    codes = {c.code for c in issued}
    assert len(codes) == 3
    assert all(len(c) == CODE_LENGTH and set(c) <= set(ALPHABET) for c in codes)
    assert {c.customer_id for c in issued} == set(ids[:3])
    assert all(c.expires_at == NOW + timedelta(days=30) for c in issued)
    assert len(events_named("Coupon Issued")) == 3


def test_two_hundred_issues_at_once_never_pass_the_stock():
    ids = people(60)
    template("flash-coupon", stock=25, per_customer=2)
    errors: list[BaseException] = []

    def claim(customer: int) -> None:
        try:
            with write_lock(), unit_of_work() as s:
                promotions.issue(s, "flash-coupon", [customer], "claim", now=NOW)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=claim, args=(c,)) for c in ids * 3 + ids[:20]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Coupon)) == 25
        assert s.scalar(select(CouponTemplate.issued)) == 25
        per_customer = s.execute(
            select(Coupon.customer_id, func.count()).group_by(Coupon.customer_id)
        ).all()
    assert max(n for _, n in per_customer) <= 2


def test_a_coupon_redeems_once_per_order_and_a_second_order_is_refused():
    ids = people(1)
    template("fan-20")
    with unit_of_work() as s:
        code = promotions.issue(s, "fan-20", ids, now=NOW).coupons[0].code
    with unit_of_work() as s:
        first = promotions.redeem(s, code, "order-1", 15_000, now=NOW)
    with unit_of_work() as s:
        again = promotions.redeem(s, code.lower(), "order-1", 15_000, now=NOW)
    assert (first.coupon.discount_fen, first.replayed) == (2000, False)
    assert (again.coupon.discount_fen, again.replayed) == (2000, True)
    with unit_of_work() as s, pytest.raises(Conflict) as refused:
        promotions.redeem(s, code, "order-2", 15_000, now=NOW)
    assert (refused.value.code, refused.value.field) == ("already_redeemed", "code")
    redeemed = events_named("Coupon Redeemed")
    assert len(redeemed) == 1 and redeemed[0].customer_id == ids[0]


def test_many_orders_racing_for_one_coupon_redeem_it_once():
    ids = people(1)
    template("fan-20")
    with unit_of_work() as s:
        code = promotions.issue(s, "fan-20", ids, now=NOW).coupons[0].code
    won: list[str] = []
    refused: list[str] = []

    def pay(order: str) -> None:
        try:
            with write_lock(), unit_of_work() as s:
                promotions.redeem(s, code, order, 10_000, now=NOW)
            won.append(order)
        except Conflict:
            refused.append(order)

    threads = [threading.Thread(target=pay, args=(f"order-{n}",)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and len(refused) == 15
    with unit_of_work() as s:
        assert s.scalar(select(Coupon.order_id)) == won[0]
    assert len(events_named("Coupon Redeemed")) == 1


def test_the_rules_of_a_coupon_are_named_when_an_order_breaks_them():
    ids = people(4)
    template("manjian", kind="threshold", amount_fen=5000, threshold_fen=30_000)
    template("pct", kind="percent", percent=20, cap_fen=3000, amount_fen=0)
    template("store-only", stores=["SH01"])
    template("skin", products=["SKU-1"], categories=["护肤"])
    with unit_of_work() as s:
        codes = {
            key: promotions.issue(s, key, ids, now=NOW).coupons[0].code
            for key in ("manjian", "pct", "store-only", "skin")
        }
    for code, kwargs, field in (
        (codes["manjian"], {}, "amount"),
        (codes["store-only"], {"store": "BJ01"}, "store"),
        (codes["skin"], {"items": [promotions.Item("SKU-9", "彩妆", 9000)]}, "products"),
    ):
        with unit_of_work() as s, pytest.raises(SiyuError) as broken:
            promotions.redeem(s, code, f"o-{field}", 29_900, now=NOW, **kwargs)
        assert (broken.value.status, broken.value.field) == (422, field)
    with unit_of_work() as s:
        assert (
            promotions.redeem(s, codes["manjian"], "o-1", 30_000, now=NOW).coupon.discount_fen
            == 5000
        )
        # 20 % of ¥200 is ¥40, capped at ¥30
        assert (
            promotions.redeem(s, codes["pct"], "o-2", 20_000, now=NOW).coupon.discount_fen == 3000
        )
        skin = promotions.redeem(
            s,
            codes["skin"],
            "o-3",
            50_000,
            items=[promotions.Item("SKU-1", "护肤", 8000, 2)],
            now=NOW,
        )
        # only the coupon's items count: ¥160 of them, so the ¥20 comes off whole
        assert skin.coupon.discount_fen == 2000


def test_coupons_that_do_not_stack_refuse_a_second_on_one_order():
    ids = people(1)
    template("a")
    template("b")
    with unit_of_work() as s:
        a = promotions.issue(s, "a", ids, now=NOW).coupons[0].code
        b = promotions.issue(s, "b", ids, now=NOW).coupons[0].code
        promotions.redeem(s, a, "o-1", 50_000, now=NOW)
    with unit_of_work() as s, pytest.raises(Conflict) as refused:
        promotions.redeem(s, b, "o-1", 50_000, now=NOW)
    assert refused.value.code == "does_not_stack"


def test_an_expired_or_unknown_coupon_is_refused_and_expiry_is_an_event():
    ids = people(2)
    template("short", valid_days=3)
    with unit_of_work() as s:
        codes = [c.code for c in promotions.issue(s, "short", ids, now=NOW).coupons]
    with unit_of_work() as s:
        assert promotions.remind_due(s, NOW + timedelta(days=1)) == 2
        assert promotions.remind_due(s, NOW + timedelta(days=2)) == 0  # once each
    later = NOW + timedelta(days=3, minutes=1)
    with unit_of_work() as s, pytest.raises(Conflict) as expired:
        promotions.redeem(s, codes[0], "o-1", 10_000, now=later)
    assert expired.value.code == "expired"
    with unit_of_work() as s:
        assert promotions.expire_due(s, later) == 2
        assert promotions.expire_due(s, later) == 0
    assert len(events_named("Coupon Expired")) == 2
    assert len(events_named("Coupon Expiring")) == 2
    with unit_of_work() as s, pytest.raises(SiyuError) as unknown:
        promotions.redeem(s, "NOTACODE2345", "o-1", 10_000, now=NOW)
    assert (unknown.value.status, unknown.value.field) == (404, "code")


def test_orders_sent_as_events_redeem_their_coupons_and_a_refund_returns_them(client, write_key):
    ids = people(2)
    template("back", returnable=True)
    template("kept", returnable=False)
    with unit_of_work() as s:
        back = promotions.issue(s, "back", ids[:1], now=NOW).coupons[0].code
        kept = promotions.issue(s, "kept", ids[1:], now=NOW).coupons[0].code

    def order(event: str, user: str, order_id: str, code: str) -> None:
        sent = client.post(
            "/v1/track",
            auth=(write_key, ""),
            json={
                "userId": user,
                "event": event,
                "properties": {"order_id": order_id, "revenue": 199, "coupon": code},
            },
        )
        assert sent.status_code == 200, sent.text

    order("Order Completed", "c0", "mall-1", back)
    order("Order Completed", "c1", "mall-2", kept)
    with unit_of_work() as s:
        assert {c.code: (c.status, c.order_id) for c in s.scalars(select(Coupon))} == {
            back: ("redeemed", "mall-1"),
            kept: ("redeemed", "mall-2"),
        }
    order("Order Refunded", "c0", "mall-1", back)
    order("Order Refunded", "c1", "mall-2", kept)
    with unit_of_work() as s:
        found = {c.code: c for c in s.scalars(select(Coupon))}
    assert (found[back].status, found[back].order_id) == ("issued", None)
    assert found[kept].status == "redeemed"
    assert len(events_named("Coupon Returned")) == 1
    with unit_of_work() as s:  # and the returned coupon serves another order
        assert promotions.redeem(s, back, "mall-3", 19_900, now=NOW).replayed is False


def test_a_template_names_the_rule_it_breaks():
    for rules, field in (
        ({"key": "Bad Key"}, "key"),
        ({"kind": "gift"}, "kind"),
        ({"amount_fen": 0}, "amount"),
        ({"kind": "threshold", "threshold_fen": 1000}, "threshold"),
        ({"kind": "percent", "percent": 100}, "percent"),
        ({"valid_days": None}, "valid_until"),
        ({"stock": 0}, "stock"),
        ({"per_customer": 0}, "per_customer"),
    ):
        args = {"key": "ok", "kind": "amount", "amount_fen": 2000, "valid_days": 7} | rules
        with unit_of_work() as s, pytest.raises(InvalidInput) as refused:
            promotions.create_template(s, args.pop("key"), "券", args.pop("kind"), **args)
        assert refused.value.field == field, rules
