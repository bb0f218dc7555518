"""The demo's message stream, without a database: deterministic, valid, believable, in order."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import orjson

from siyu.demo.stream import Plan, generate

ZONE = ZoneInfo("Asia/Shanghai")
PLAN = Plan(end_date=date(2025, 6, 30), customers=300, days=90, seed=3, zone=ZONE)
NOW = datetime(2025, 7, 2, tzinfo=UTC)
MOBILE = re.compile(r"^1[3-9]\d{9}$")


def _messages(plan: Plan = PLAN, now: datetime = NOW) -> list[dict]:
    return [m for batch in generate(plan, now) for m in batch.messages]


def _digest(messages: list[dict]) -> str:
    return hashlib.sha256(orjson.dumps(messages, option=orjson.OPT_SORT_KEYS)).hexdigest()


def test_same_seed_gives_the_same_stream_and_another_seed_another():
    first = _messages()
    assert _digest(first) == _digest(_messages())
    other = Plan(end_date=PLAN.end_date, customers=300, days=90, seed=4, zone=ZONE)
    assert _digest(first) != _digest(_messages(other))


def test_identify_calls_carry_valid_unique_phones_and_chinese_names():
    identifies = [m for m in _messages() if m["type"] == "identify"]
    phones = [m["traits"]["phone"] for m in identifies]
    assert identifies and all(MOBILE.match(phone) for phone in phones)
    assert len(set(phones)) == len(phones)
    assert "13800138000" in phones  # the showcase customer of the README
    assert all(re.match(r"^[\u4e00-\u9fff]{2,4}$", m["traits"]["name"]) for m in identifies)
    assert all({"gender", "city", "birthday"} <= m["traits"].keys() for m in identifies)


def test_customers_are_anonymous_until_they_identify():
    seen_identify: set[str] = set()
    for message in _messages():
        if message["type"] == "identify":
            seen_identify.add(message["anonymousId"])
        elif "userId" not in message:
            assert message["anonymousId"] not in seen_identify


def test_timestamps_are_zoned_inside_the_period_and_never_after_now():
    start = datetime(2025, 4, 2, tzinfo=ZONE)
    now = datetime(2025, 6, 30, 10, tzinfo=ZONE)  # the last day is cut off at "now"
    messages = _messages(now=now)
    for message in messages:
        moment = datetime.fromisoformat(message["timestamp"])
        assert moment.utcoffset() == timedelta(hours=8)
        assert start <= moment <= now
        assert "sentAt" not in message
    devices = {m["anonymousId"] for m in messages if "anonymousId" in m}
    assert len(devices) == PLAN.customers  # today's newcomers all arrived before now


def test_orders_carry_products_and_a_revenue_in_yuan():
    orders = [m["properties"] for m in _messages() if m.get("event") == "Order Completed"]
    assert orders
    for order in orders:
        assert re.match(r"^\d+\.\d{2}$", order["revenue"])
        assert order["products"] and order["touchpoint"]
        line = order["products"][0]
        assert {"product_id", "name", "category", "price", "quantity"} <= line.keys()


def test_the_stream_runs_forward_in_time_day_by_day():
    days = [datetime.fromisoformat(m["timestamp"]).date() for m in _messages()]
    late = sum(1 for before, after in zip(days, days[1:], strict=False) if after < before)
    assert late / len(days) < 0.02  # only refunds and replies land a day or two later
