"""The coupons' API: the brand writes a template and issues it; the mall, with a token that can
do nothing else, redeems at checkout, and a retried request changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from siyu.core.auth import create_token
from siyu.core.db import unit_of_work
from siyu.events.models import OutboxEvent
from siyu.promotions.models import Coupon
from tests.promotions.test_coupons import people


def mall_token() -> dict[str, str]:
    with unit_of_work() as s:
        _, secret = create_token(s, "mall", "mall")
    return {"Authorization": f"Bearer {secret}"}


def test_the_brand_issues_and_the_mall_redeems_once(client, admin_token):
    ids = people(3)
    admin = {"Authorization": f"Bearer {admin_token}"}
    made = client.post(
        "/api/coupon-templates",
        headers=admin,
        json={
            "key": "member-day",
            "name": "会员日满 300 减 50",
            "kind": "threshold",
            "amount": "50",
            "threshold": 300,
            "valid_days": 14,
            "stock": 100,
        },
    )
    assert made.status_code == 201, made.text
    issued = client.post(
        "/api/coupon-templates/member-day/issue",
        headers={**admin, "Idempotency-Key": "issue-1"},
        json={"customers": [str(ids[0]), "13900000001", "13900000001", "13800009999"]},
    )
    assert issued.status_code == 200, issued.text
    assert issued.json() | {"unknown": None} == {
        "issued": 2,
        "skipped": {},
        "unknown": None,
        "unknown_count": 1,
    }
    retried = client.post(
        "/api/coupon-templates/member-day/issue",
        headers={**admin, "Idempotency-Key": "issue-1"},
        json={"customers": [str(ids[0]), "13900000001", "13900000001", "13800009999"]},
    )
    assert retried.json() == issued.json() and retried.headers["Idempotent-Replayed"] == "true"
    with unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Coupon)) == 2

    mall = mall_token()
    mine = client.get("/api/coupons", headers=mall, params={"customer": "13900000001"})
    assert mine.status_code == 200 and len(mine.json()) == 1, mine.text
    code = mine.json()[0]["code"]
    redeem = {"order_id": "T-1001", "amount": "328.00", "customer": "13900000001"}
    first = client.post(
        f"/api/coupons/{code}/redeem", headers={**mall, "Idempotency-Key": "k1"}, json=redeem
    )
    assert first.status_code == 200, first.text
    assert (first.json()["discount"], first.json()["status"]) == (50.0, "redeemed")
    # the mall retries with its key: the first answer; without one, the same order: the same
    again = client.post(
        f"/api/coupons/{code}/redeem", headers={**mall, "Idempotency-Key": "k1"}, json=redeem
    )
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    plain = client.post(f"/api/coupons/{code}/redeem", headers=mall, json=redeem)
    assert plain.status_code == 200 and plain.json()["again"] is True
    other = client.post(
        f"/api/coupons/{code}/redeem", headers=mall, json={**redeem, "order_id": "T-1002"}
    )
    assert other.status_code == 409 and other.json()["error"]["code"] == "already_redeemed"
    with unit_of_work() as s:
        redeemed = select(func.count()).where(OutboxEvent.event == "Coupon Redeemed")
        assert s.scalar(redeemed) == 1


def test_the_mall_hears_why_not_and_its_key_cannot_be_reused(client, admin_token):
    people(2)
    admin = {"Authorization": f"Bearer {admin_token}"}
    client.post(
        "/api/coupon-templates",
        headers=admin,
        json={
            "key": "m",
            "name": "满减",
            "kind": "threshold",
            "amount": 50,
            "threshold": 300,
            "valid_days": 7,
        },
    )
    client.post("/api/coupon-templates/m/issue", headers=admin, json={"customers": ["13900000000"]})
    mall = mall_token()
    code = client.get("/api/coupons", headers=mall, params={"customer": "13900000000"}).json()[0][
        "code"
    ]
    under = client.post(
        f"/api/coupons/{code}/redeem",
        headers={**mall, "Idempotency-Key": "k2"},
        json={"order_id": "T-1", "amount": 100},
    )
    assert under.status_code == 422 and under.json()["error"]["field"] == "amount", under.text
    # the stored answer stands for that key, even for a request that would now pass …
    reused = client.post(
        f"/api/coupons/{code}/redeem",
        headers={**mall, "Idempotency-Key": "k2"},
        json={"order_id": "T-1", "amount": 400},
    )
    assert reused.status_code == 400
    assert reused.json()["error"]["field"] == "Idempotency-Key"
    wrong_holder = client.post(
        f"/api/coupons/{code}/redeem",
        headers=mall,
        json={"order_id": "T-2", "amount": 400, "customer": "13900000001"},
    )
    assert wrong_holder.status_code == 409 and wrong_holder.json()["error"]["field"] == "customer"
    for bad, field in (
        ({"order_id": "", "amount": 1}, "order_id"),
        ({"order_id": "x", "amount": -1}, "amount"),
        ({"order_id": "x", "amount": 1, "surprise": 1}, "surprise"),
    ):
        answer = client.post(f"/api/coupons/{code}/redeem", headers=mall, json=bad)
        assert answer.status_code in (400, 422) and field in answer.text, answer.text
    long_key = client.post(
        f"/api/coupons/{code}/redeem",
        headers={**mall, "Idempotency-Key": "x" * 256},
        json={"order_id": "T-3", "amount": 400},
    )
    assert long_key.status_code == 400 and "Idempotency-Key" in long_key.text
    assert (
        client.post(
            "/api/coupons/NOPE/redeem", headers=mall, json={"order_id": "T", "amount": 1}
        ).status_code
        == 404
    )  # noqa: E501


def test_a_mall_token_reaches_checkout_and_nothing_else(client, admin_token):
    people(1)
    mall = mall_token()
    assert client.get("/api/customers/1", headers=mall).status_code == 403
    assert client.get("/api/broadcasts", headers=mall).status_code == 403
    assert client.get("/api/coupon-templates", headers=mall).status_code == 403
    made = client.post(
        "/api/coupon-templates",
        headers=mall,
        json={"key": "x", "name": "x", "kind": "amount", "amount": 1, "valid_days": 1},
    )
    assert made.status_code == 403
    analyst = {"Authorization": f"Bearer {admin_token}"}
    assert client.get("/api/coupon-templates", headers=analyst).status_code == 200
