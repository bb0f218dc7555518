"""A broadcast that hands out a coupon: each customer planned gets one, the holdout and those
left out get none, planning again hands out none twice, and the API, the CLI and the console
name a template that cannot be used."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from siyu.broadcasts import service as broadcasts
from siyu.cli import app
from siyu.core.db import unit_of_work
from siyu.core.errors import InvalidInput
from siyu.messaging.models import Delivery
from siyu.promotions import service as promotions
from siyu.promotions.models import Coupon
from tests.broadcasts.test_broadcasts import NOON, A, subscribed_people

runner = CliRunner()


def _template(key: str = "fans-20", stock: int | None = None, status: str = "active") -> None:
    with unit_of_work() as s:
        promotions.create_template(
            s, key, "粉丝专享 20 元券", "amount", amount_fen=2000, valid_days=7, stock=stock
        )
        if status != "active":
            promotions.set_status(s, key, status)


def _sent(**fields) -> tuple[int, dict]:
    with unit_of_work() as s:
        broadcast = broadcasts.create(
            s,
            name="会员日",
            actor="test",
            channels=["sms"],
            variants=[A],
            segment_key="vip",
            coupon_template="fans-20",
            **fields,
        )
        broadcasts.schedule(s, broadcast, None, now=NOON)
        planned = broadcasts.plan_now(s, broadcast, NOON)
        broadcasts.plan_now(s, broadcast, NOON)  # a retried job
        return broadcast.id, planned


def _held(broadcast_id: int) -> dict[int, tuple[str, str | None]]:
    with unit_of_work() as s:
        return {c.customer_id: (c.via, c.via_ref) for c in s.scalars(select(Coupon))}


def test_each_customer_messaged_gets_one_coupon_and_the_rest_none():
    ids = subscribed_people()  # four with SMS consent, two left out
    _template()
    broadcast_id, planned = _sent()
    held = _held(broadcast_id)
    assert sorted(held) == ids[:4]
    assert set(held.values()) == {("broadcast", str(broadcast_id))}
    assert planned["coupons"] == {"issued": 4, "skipped": {}}
    with unit_of_work() as s:
        counts = broadcasts.counts(s, broadcasts.find(s, broadcast_id))
    assert counts["coupons"] == {"issued": 4, "redeemed": 0, "cost_fen": 0}


def test_the_holdout_gets_no_coupon():
    subscribed_people()
    _template()
    broadcast_id, _ = _sent(holdout_percent=50)
    with unit_of_work() as s:
        messaged = set(s.scalars(select(Delivery.customer_id).where(Delivery.status == "planned")))
        kept_back = set(
            s.scalars(select(Delivery.customer_id).where(Delivery.status == "held_out"))
        )
    held = _held(broadcast_id)
    assert kept_back and messaged
    assert set(held) == messaged and not set(held) & kept_back


def test_the_stock_bounds_what_a_broadcast_hands_out():
    subscribed_people()
    _template(stock=3)
    broadcast_id, planned = _sent()
    assert len(_held(broadcast_id)) == 3
    assert planned["coupons"] == {"issued": 3, "skipped": {"out_of_stock": 1}}


def test_a_template_paused_after_the_broadcast_was_written_hands_out_none():
    subscribed_people()
    _template()
    with unit_of_work() as s:
        broadcast = broadcasts.create(
            s,
            name="会员日",
            actor="test",
            channels=["sms"],
            variants=[A],
            segment_key="vip",
            coupon_template="fans-20",
        )
        promotions.set_status(s, "fans-20", "paused")
        broadcasts.schedule(s, broadcast, None, now=NOON)
        planned = broadcasts.plan_now(s, broadcast, NOON)
        counts = broadcasts.counts(s, broadcast)
    assert planned["coupons"] == {"issued": 0, "skipped": {"unavailable": 4}}
    assert counts["planned"] == 4  # the message still goes out


@pytest.mark.parametrize(("key", "status"), [("no-such", "active"), ("fans-20", "ended")])
def test_a_template_that_cannot_be_used_is_named_and_nothing_is_written(key, status):
    subscribed_people()
    _template(status=status)
    with pytest.raises(InvalidInput) as raised, unit_of_work() as s:
        broadcasts.create(
            s,
            name="会员日",
            actor="test",
            channels=["sms"],
            variants=[A],
            segment_key="vip",
            coupon_template=key,
        )
    assert raised.value.field == "coupon"
    with unit_of_work() as s:
        assert broadcasts.list_broadcasts(s) == []


def test_the_api_and_the_cli_take_the_coupon(client, admin_token):
    subscribed_people()
    _template()
    headers = {"Authorization": f"Bearer {admin_token}"}
    body = {"name": "会员日", "channels": ["sms"], "variants": [{"text": "满 300 减 50"}]}
    refused = client.post(
        "/api/broadcasts", json={**body, "segment": "vip", "coupon": "nope"}, headers=headers
    )
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "coupon"
    made = client.post(
        "/api/broadcasts", json={**body, "segment": "vip", "coupon": "fans-20"}, headers=headers
    )
    assert made.status_code == 201 and made.json()["coupon"] == "fans-20"
    assert made.json()["coupons"] == {"issued": 0, "redeemed": 0, "cost_fen": 0}
    shown = runner.invoke(
        app,
        ["broadcasts", "create", "--name", "会员日", "--channel", "sms", "--segment", "vip"]
        + ["--body", "满 300 减 50", "--coupon", "fans-20", "--json"],
    )
    assert shown.exit_code == 0, shown.output
    assert orjson.loads(shown.output)["coupon"] == "fans-20"
