"""A journey's send steps, run by the worker's jobs: the planner decides for the customer now
(consent, quiet hours, the fallback order), one delivery per entry and step with the version's
content, `Message Planned` written, and the dispatcher sends it; a left-out customer moves on."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from siyu import work
from siyu.core.db import unit_of_work
from siyu.core.settings import get_settings
from siyu.events.models import OutboxEvent
from siyu.journeys import service as journeys
from siyu.journeys.definition import DefinitionError
from siyu.journeys.models import JourneyContent, JourneyEntry, JourneyStepRun
from siyu.messaging import policy
from siyu.messaging import service as messaging
from siyu.messaging.models import Delivery, MessageContent
from siyu.segments.service import create_segment
from tests.segments.brand import Brand

WELCOME = {
    "key": "welcome",
    "name": "Welcome",
    "entry": {"event": "Signed Up"},
    "steps": [
        {
            "id": "hello",
            "kind": "send",
            "channels": ["email", "sms"],
            "content": {
                "email": {"subject": "Welcome", "text": "Hi {{ name | default('there') }}"},
                "sms": {"template": "WELCOME", "params": {"days": "3"}},
            },
            "next": "mark",
        },
        {"id": "mark", "kind": "tag", "tag": "welcomed"},
    ],
}


def _identify(user_id: str, message_id: str, **traits) -> dict:
    now = datetime.now(UTC).isoformat()
    return {
        "type": "identify",
        "userId": user_id,
        "traits": traits,
        "timestamp": now,
        "messageId": message_id,
    }


def _signed_up(user_id: str, message_id: str) -> dict:
    return {
        "type": "track",
        "userId": user_id,
        "event": "Signed Up",
        "properties": {},
        "timestamp": datetime.now(UTC).isoformat(),
        "messageId": message_id,
    }


def _quiet_hours(covering_now: bool) -> None:
    """Quiet hours that hold now, or that start an hour from now (brand's zone)."""
    local = datetime.now(get_settings().zone)
    start = local - timedelta(hours=1) if covering_now else local + timedelta(hours=1)
    window = {"start": f"{start:%H:%M}", "end": f"{start + timedelta(hours=2):%H:%M}"}
    with unit_of_work() as s:
        policy.set_quiet_hours(s, [window])


def _subscribe(customer_id: int, channel: str = "email") -> None:
    with unit_of_work() as s:
        messaging.set_consent(
            s, customer_id, channel, "subscribed", method="import", source="test", actor="test"
        )


def _publish(definition: dict) -> None:
    with unit_of_work() as s:
        journeys.create_journey(s, definition, "test")
        journeys.publish(s, definition["key"], "test")


def _run_due() -> None:
    while work.run_one():
        pass


def _deliveries() -> dict[int, tuple[str, str, str | None, str]]:
    with unit_of_work() as s:
        rows = s.execute(
            select(Delivery.customer_id, Delivery.status, Delivery.reason, Delivery.key)
        )
        return {cid: (status, reason, key) for cid, status, reason, key in rows}  # type: ignore[misc]


def _outcomes() -> dict[tuple[int, str], str | None]:
    with unit_of_work() as s:
        rows = s.execute(
            select(JourneyEntry.customer_id, JourneyStepRun.step_id, JourneyStepRun.outcome).join(
                JourneyEntry, JourneyEntry.id == JourneyStepRun.entry_id
            )
        )
        return {(cid, step): outcome for cid, step, outcome in rows}


def _count(event: str) -> int:
    with unit_of_work() as s:
        return s.scalar(select(func.count()).where(OutboxEvent.event == event)) or 0


def test_a_send_step_plans_sends_once_and_leaves_out_with_the_reason():
    _quiet_hours(covering_now=False)
    brand = Brand()
    brand.send(
        _identify("ann", "i1", email="ann@example.com"),
        _identify("bob", "i2", email="bob@example.com"),
    )
    ann, bob = brand.customer_id("ann"), brand.customer_id("bob")
    _subscribe(ann)  # bob gave no consent for email, and has no phone
    _publish(WELCOME)
    brand.send(_signed_up("ann", "s1"), _signed_up("bob", "s2"))
    _run_due()
    deliveries = _deliveries()
    with unit_of_work() as s:
        journey_id = journeys.find_journey(s, "welcome").id
        ann_entry = s.scalar(select(JourneyEntry.id).where(JourneyEntry.customer_id == ann))
    assert deliveries[ann] == ("sent", None, f"journey:{journey_id}:step:hello:entry:{ann_entry}")
    assert deliveries[bob][:2] == ("left_out", "no_consent")
    outcomes = _outcomes()
    assert outcomes[(ann, "hello")] == "email"
    assert outcomes[(bob, "hello")] == "left_out:no_consent"
    assert outcomes[(bob, "mark")] == "done"  # left out, and moved on all the same
    assert _count("Message Planned") == 1
    assert _count("Message Sent") == 1
    with unit_of_work() as s:
        sent = s.scalar(select(Delivery).where(Delivery.customer_id == ann))
        assert sent is not None and sent.origin == "journey" and sent.step == "hello"
        assert sent.origin_id == journey_id
        content = s.get(MessageContent, sent.content_id)
        assert content is not None and content.subject == "Welcome"


def test_a_step_in_quiet_hours_is_deferred_and_the_customer_moves_on():
    _quiet_hours(covering_now=True)
    brand = Brand()
    brand.send(_identify("ann", "i1", email="ann@example.com"))
    ann = brand.customer_id("ann")
    _subscribe(ann)
    _publish(WELCOME)
    brand.send(_signed_up("ann", "s1"))
    _run_due()
    with unit_of_work() as s:
        delivery = s.scalar(select(Delivery).where(Delivery.customer_id == ann))
        assert delivery is not None and delivery.status == "planned"
        assert delivery.send_at > datetime.now(UTC) + timedelta(minutes=30)
    assert _outcomes()[(ann, "mark")] == "done"


def test_contents_are_stored_once_per_version_and_step_and_channel():
    _publish(WELCOME)
    with unit_of_work() as s:
        rows = s.execute(select(JourneyContent.step_id, JourneyContent.channel)).all()
        sms = s.scalar(
            select(MessageContent)
            .join(JourneyContent, JourneyContent.content_id == MessageContent.id)
            .where(JourneyContent.channel == "sms")
        )
        assert sms is not None
        assert sms.extras == {"template": "WELCOME", "params": {"days": "3"}}
    assert sorted(rows) == [("hello", "email"), ("hello", "sms")]


def test_the_sop_templates_publish_with_their_send_steps():
    with unit_of_work() as s:  # the audiences two of them name
        for key in ("win-back", "birthday-this-month"):
            create_segment(s, key, key, {"event": "Signed Up"}, "daily")
    for name in journeys.TEMPLATES:
        with unit_of_work() as s:
            journeys.create_journey(s, journeys.template(name), "test")
        with unit_of_work() as s:
            journeys.publish(s, name, "test")


def test_a_template_no_customer_could_be_sent_is_refused_at_publish_with_its_path():
    broken = copy.deepcopy(WELCOME)
    broken["steps"][0]["content"]["email"]["text"] = "Hi {{ nickname }}"
    broken["steps"][0]["content"]["sms"]["params"] = {"days": "{{ 3 "}
    with unit_of_work() as s:
        journeys.create_journey(s, broken, "test")
    with unit_of_work() as s, pytest.raises(DefinitionError) as refused:
        journeys.publish(s, "welcome", "test")
    paths = [p.path for p in refused.value.problems]
    assert paths == ["$.steps[0].content.email.text", "$.steps[0].content.sms.params.days"]
    assert "nickname" in refused.value.problems[0].message
