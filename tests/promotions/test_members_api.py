"""/api/members: readers see a customer's tier, points, benefits and ledger; the mall spends
points on a coupon once per Idempotency-Key; bad requests are 4xx naming the field. A flash
sale sells to a tier's members at the tier's price."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from siyu.core.db import unit_of_work
from siyu.promotions import flash, members, tier_prices
from tests.promotions.test_flash_api import token
from tests.promotions.test_members import NOW, brand, order, people


def test_a_reader_sees_the_tier_points_benefits_and_ledger(client):
    ids = people(1)
    brand()
    order("Order Completed", "b0", "SO-1", "1200", NOW - timedelta(days=1))
    shown = client.get("/api/members/b0", headers=token("analyst"))
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert (body["customer_id"], body["tier"], body["points"]) == (
        ids[0],
        {"key": "silver", "name": "银卡"},
        1200,
    )
    assert body["next_tier"] == {"name": "金卡", "missing": 380_000}
    assert body["benefits"] == ["95 折"]
    assert body["rewards"] == [
        {"coupon_template": "points-5", "name": "积分兑 5 元券", "points": 30}
    ]
    assert [(e["kind"], e["points"], e["balance"]) for e in body["ledger"]] == [
        ("earn", 1200, 1200)
    ]
    missing = client.get("/api/members/nobody", headers=token("analyst"))
    assert (missing.status_code, missing.json()["error"]["field"]) == (404, "customer")


def test_the_mall_spends_points_once_per_idempotency_key(client):
    people(1)
    brand()
    order("Order Completed", "b0", "SO-1", "40", NOW - timedelta(days=1))
    mall = {**token("mall"), "Idempotency-Key": "spend-1"}
    path = "/api/members/b0/points/spend"
    first = client.post(path, headers=mall, json={"coupon_template": "points-5"})
    replay = client.post(path, headers=mall, json={"coupon_template": "points-5"})
    assert first.status_code == 201, first.text
    assert (first.json()["points"], first.json()["balance"]) == (-30, 10)
    assert replay.json() == first.json() and replay.headers["Idempotent-Replayed"] == "true"
    again = client.post(path, headers=token("mall"), json={"coupon_template": "points-5"})
    assert (again.status_code, again.json()["error"]["field"]) == (409, "points")
    assert again.json()["error"]["code"] == "not_enough_points"


def test_bad_spends_are_refused_naming_the_field(client):
    people(1)
    brand()
    mall = token("mall")
    path = "/api/members/b0/points/spend"
    unknown = client.post(path, headers=mall, json={"coupon_template": "nope"})
    assert (unknown.status_code, unknown.json()["error"]["field"]) == (404, "coupon_template")
    not_reward = client.post(path, headers=mall, json={"coupon_template": "gold-gift"})
    assert (not_reward.status_code, not_reward.json()["error"]["field"]) == (409, "coupon_template")
    extra = client.post(path, headers=mall, json={"coupon_template": "points-5", "points": 1})
    assert extra.status_code == 422 and "points" in extra.text
    empty = client.post(path, headers=mall, json={})
    assert empty.status_code == 422 and "coupon_template" in empty.text
    nobody = client.post(
        "/api/members/x9/points/spend", headers=mall, json={"coupon_template": "points-5"}
    )
    assert (nobody.status_code, nobody.json()["error"]["field"]) == (404, "customer")
    reader = client.post(path, headers=token("analyst"), json={"coupon_template": "points-5"})
    assert reader.status_code == 403


def test_a_flash_sale_reserves_at_the_members_tier_price(client):
    ids = people(2)
    brand()
    order("Order Completed", "b0", "SO-1", "6000", NOW - timedelta(days=1))
    now = datetime.now(UTC)
    with unit_of_work() as s:
        sale = flash.create_sale(
            s, "vip-cup", "会员专享 保温杯", "CUP-500", 9900, 10, 1,
            now - timedelta(hours=1), now + timedelta(days=1),
        )  # fmt: skip
        tier_prices.set_tier_price(s, sale, members.find_tier(s, "gold").id, 7900)
    path = "/api/flash-sales/vip-cup/reservations"
    gold = client.post(path, headers=token("mall"), json={"customer": ids[0]})
    plain = client.post(path, headers=token("mall"), json={"customer": ids[1]})
    assert (gold.status_code, gold.json()["price_fen"]) == (201, 7900), gold.text
    assert (plain.status_code, plain.json()["price_fen"]) == (201, 9900), plain.text
