"""A journey's send step: this customer's message decided now by messaging's planner (consent,
caps, quiet hours → a later send time, the fallback order), written to the delivery log under a
key naming the journey, the step and the entry, with `Message Planned` in the lake; the
dispatcher sends it from its send time, exactly once.

A step's content is stored once per published version, step and channel (journey_contents), so
a hundred thousand deliveries name one content row. The delivery is written in the step's own
transaction: a crash before the commit leaves neither the delivery nor the step run, and the
retried step writes both once (the key is unique).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.i18n import N_
from siyu.journeys.definition import Definition, Problem, SendStep
from siyu.journeys.models import Journey, JourneyContent, JourneyEntry
from siyu.messaging import planner, templates
from siyu.messaging import service as messaging
from siyu.messaging.models import Delivery, MessageContent

ORIGIN = "journey"
PLANNED_EVENT = "Message Planned"
LEFT_OUT = "left_out"
COLUMNS = ("subject", "text", "html")  # MessageContent's own; the rest of a channel's content
# (an SMS template and params, a WeCom link or mini-program card…) is its extras.


def delivery_key(journey_id: int, step_id: str, entry_id: int) -> str:
    return f"journey:{journey_id}:step:{step_id}:entry:{entry_id}"


def store_contents(session: Session, journey_id: int, version: int, definition: Definition) -> None:
    """Store every send step's content of a version being published (once: publishing again
    finds them)."""
    for step in definition.steps.values():
        if isinstance(step, SendStep):
            content_ids(session, journey_id, version, step)


def content_problems(definition: Definition) -> list[Problem]:
    """(JSON path, why) of each send step's template that no customer could be sent: a syntax
    error, or a variable templates do not have. A variable a customer may lack (a name, a
    trait) is fine here: that customer's message fails with the reason when it is rendered."""
    sample: dict[str, Any] = {
        "name": "name",
        "id": 1,
        "traits": defaultdict(str),
        "guide": "guide",
        "store": "store",
        "links": ["https://example.com"] * 20,
        "unsubscribe_url": "https://example.com",
    }
    found = []
    for i, step in enumerate(definition.steps.values()):
        if not isinstance(step, SendStep):
            continue
        for channel, parts in step.content.items():
            for field, source in _strings(parts):
                path = f"$.steps[{i}].content.{channel}.{field}"
                found += [_said(path, p) for p in templates.check(source, sample, field)]
    return found


def _said(path: str, problem: templates.Problem) -> Problem:
    if problem.variable:
        known = ", ".join(templates.VARIABLES)
        unknown = N_("%(variable)s is not a variable here (%(known)s)")
        return Problem(path, unknown, {"variable": problem.variable, "known": known})
    return Problem(path, N_("the template cannot be read: %(reason)s"), {"reason": problem.message})


def _strings(parts: dict[str, Any]) -> list[tuple[str, str]]:
    """The template strings of a channel's content, one level down (as messages render)."""
    found = []
    for key, value in parts.items():
        if isinstance(value, str):
            found.append((key, value))
        elif isinstance(value, dict):
            found += [(f"{key}.{k}", v) for k, v in value.items() if isinstance(v, str)]
    return found


def content_ids(session: Session, journey_id: int, version: int, step: SendStep) -> dict[str, int]:
    """Channel → MessageContent id of this version's step, stored on first use."""
    found: dict[str, int] = dict(
        session.execute(
            select(JourneyContent.channel, JourneyContent.content_id).where(
                JourneyContent.journey_id == journey_id,
                JourneyContent.version == version,
                JourneyContent.step_id == step.id,
            )
        ).all()
    )
    for channel in step.order:
        if channel not in found:
            found[channel] = _store(session, journey_id, version, step, channel)
    return found


def _store(session: Session, journey_id: int, version: int, step: SendStep, channel: str) -> int:
    parts: dict[str, Any] = dict(step.content[channel])
    content = MessageContent(
        channel=channel,
        subject=parts.pop("subject", None),
        text=str(parts.pop("text", "") or ""),
        html=parts.pop("html", None),
        extras=parts,
    )
    session.add(content)
    session.flush()
    session.add(
        JourneyContent(
            journey_id=journey_id,
            version=version,
            step_id=step.id,
            channel=channel,
            content_id=content.id,
        )
    )
    session.flush()
    return content.id


def send(
    session: Session,
    journey: Journey,
    entry: JourneyEntry,
    step: SendStep,
    now: datetime,
    policy: planner.Policy | None = None,
) -> str:
    """Plan this entry's message for the step; the step run's outcome: the channel chosen, or
    `left_out:<reason>` (no consent, capped, suppressed, no channel, platform limit), after
    which the customer moves on all the same."""
    key = delivery_key(journey.id, step.id, entry.id)
    known = session.scalar(select(Delivery).where(Delivery.key == key))
    if known is not None:  # planned by an earlier run of this step
        return _label(known)
    decision = _decide(session, entry.customer_id, step, now, policy)
    contents = content_ids(session, journey.id, entry.version, step)
    channel = decision.channel or step.order[0]
    delivery = Delivery(
        key=key,
        origin=ORIGIN,
        origin_id=journey.id,
        step=step.id,
        variant=entry.arm[:16] if entry.arm else None,
        customer_id=entry.customer_id,
        channel=channel,
        purpose=step.purpose,
        address=decision.address,
        guide_id=decision.guide_id,
        content_id=contents[channel],
        content={},
        status="planned" if decision.channel else LEFT_OUT,
        reason=decision.reason,
        send_at=decision.send_at or now,
        attempts=0,
        created_at=now,
    )
    session.add(delivery)
    session.flush()
    if decision.channel:
        messaging.record_message_events(session, PLANNED_EVENT, [delivery], now)
        messaging.request_dispatch(session, max(delivery.send_at, now))
    return _label(delivery)


def _decide(
    session: Session, customer_id: int, step: SendStep, now: datetime, policy: planner.Policy | None
) -> planner.Decision:
    recipient = planner.recipient(session, customer_id, at=now)
    if recipient is None:  # merged into another customer since entering
        return planner.Decision(None, reason="no_channel")
    return planner.decide(
        recipient,
        channels=step.order,
        purpose=step.purpose,
        at=now,
        policy=policy or planner.load_policy(session),
    )


def _label(delivery: Delivery) -> str:
    if delivery.status == LEFT_OUT:
        return f"{LEFT_OUT}:{delivery.reason}"
    return delivery.channel
