"""Auto-tags and the lifecycle stay true as events arrive and as time passes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from siyu import work
from siyu.core import jobs
from siyu.core.db import session_factory, unit_of_work
from siyu.core.errors import InvalidInput
from siyu.segments import lifecycle
from siyu.tags import auto
from siyu.tags import jobs as tag_jobs
from siyu.tags.models import Tag
from siyu.tags.service import ensure_tag, history, tag_customer, tags_of
from tests.segments.brand import Brand

NOW = datetime.now(UTC).replace(microsecond=0)
REGULAR = {"event": "Order Completed", "within_days": 90, "count": {"gte": 3}}


def _when(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat()


def _identify(user_id: str, days_ago: float) -> dict:
    return {"type": "identify", "userId": user_id, "traits": {}, "timestamp": _when(days_ago)}


def _order(user_id: str, days_ago: float, n: int) -> dict:
    properties = {"order_id": f"{user_id}-{n}", "revenue": 30}
    return {
        "type": "track",
        "userId": user_id,
        "event": "Order Completed",
        "properties": properties,
        "timestamp": _when(days_ago),
    }


def _arrive(brand: Brand, *messages: dict, minute: int) -> None:
    """Events arrive and ship; the shipper's call queues an auto-tag pass; the worker runs it."""
    for i, message in enumerate(messages):
        message["messageId"] = f"{minute}-{i}-{message['userId']}"
    brand.send(*messages)
    brand.ship()
    # the minute's pass, as the shipper queues it (run_at: the end of that minute, past by now)
    with unit_of_work() as s:
        tag_jobs.queue_pass_for_events(s, 1, NOW - timedelta(minutes=10 - minute))
    while work.run_one():
        pass


def _tags(brand: Brand, user_id: str) -> set[str]:
    with unit_of_work() as s:
        return {
            t["name"]
            for t in tags_of(s, [brand.customer_id(user_id)]).get(brand.customer_id(user_id), [])
        }


def test_auto_tags_and_lifecycle_follow_new_events_and_time():
    brand = Brand()
    with unit_of_work() as s:
        lifecycle.set_thresholds(s, new_days=30, active_days=60, churned_days=180)
        auto.install_builtin(s)
        auto.create_auto_tag(s, "常客", "behaviour", REGULAR)
    _arrive(brand, _identify("ann", 200), _order("ann", 100, 1), minute=1)
    assert {"沉默客"} <= _tags(brand, "ann")
    assert "常客" not in _tags(brand, "ann")

    _arrive(brand, _order("ann", 3, 2), _order("ann", 2, 3), _order("ann", 1, 4), minute=2)
    _arrive(brand, _identify("bob", 2), minute=3)
    ann = _tags(brand, "ann")
    assert {"活跃客", "常客"} <= ann and "沉默客" not in ann
    assert "新客" in _tags(brand, "bob")
    with unit_of_work() as s:
        silent = s.scalar(select(Tag).where(Tag.name == "沉默客"))
        changes = history(s, tag_id=silent.id)
    assert [(c["action"], c["actor"]) for c in changes] == [
        ("removed", "rule:沉默客"),
        ("added", "rule:沉默客"),
    ]

    # A hundred days on, with no new events: the hourly pass moves them on.
    with unit_of_work() as s:
        auto.evaluate(s, as_of=NOW + timedelta(days=100))
    brand.ship()
    ann, bob = _tags(brand, "ann"), _tags(brand, "bob")
    assert "沉默客" in ann and "常客" not in ann and "活跃客" not in ann
    assert "沉默客" in bob and "新客" not in bob


def test_a_repeated_pass_changes_nothing():
    brand = Brand()
    with unit_of_work() as s:
        auto.create_auto_tag(s, "常客", "behaviour", {"event": "Order Completed"})
    _arrive(brand, _identify("ann", 5), _order("ann", 4, 1), minute=4)
    with unit_of_work() as s:
        assert auto.evaluate(s) == {"常客": (0, 0)}
        assert len(history(s)) == 1


def test_an_auto_tag_is_not_set_by_hand_nor_defined_by_itself():
    brand = Brand()
    brand.send(_identify("ann", 5) | {"messageId": "hand-1"})
    with unit_of_work() as s:
        tag = auto.create_auto_tag(s, "常客", "behaviour", {"event": "Order Completed"})
        with pytest.raises(InvalidInput):
            tag_customer(s, brand.customer_id("ann"), tag.id)
        with pytest.raises(InvalidInput):
            auto.set_rule(s, tag, {"or": [{"tag": "常客"}, {"event": "X"}]})
        with pytest.raises(InvalidInput):
            auto.set_rule(s, ensure_tag(s, "bad"), {"event": "X", "within_days": -1})


def test_the_shipper_queues_a_pass_only_when_there_are_rules():
    with unit_of_work() as s:
        tag_jobs.queue_pass_for_events(s, 5, NOW)
        assert s.scalar(select(jobs.Job.id).where(jobs.Job.kind == "tags.evaluate")) is None
        auto.install_builtin(s)
    tag_jobs.after_shipping(session_factory(), 5, NOW)
    with unit_of_work() as s:
        kinds = list(s.scalars(select(jobs.Job.key).where(jobs.Job.kind == "tags.evaluate")))
    assert any(":events:" in k for k in kinds)
