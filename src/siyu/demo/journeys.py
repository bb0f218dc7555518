"""The demo brand's two SOP journeys, running: the new-contact SOP and the lapsing-customer
win-back, published from the SOP templates PUBLISHED_BEFORE the demo's cutoff. The customers
who added a guide since entered at the time of their `Contact Added` event, and the win-back
segment's members when they joined it, each under the entry key journey admission gives it;
the engine ran every step when it fell due and the dispatcher sent the messages at their times,
so at the cutoff some customers are past the day-0 welcome, some wait for day 3, some finished
or left (held out). Steps due after the cutoff stay queued for the worker.

Everything goes through the journeys service, the engine and messaging's dispatcher, as the
worker's jobs would have, with the times in the past (as the broadcasts are, demo.reach).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from siyu.core.audit import acting_as
from siyu.core.db import commit_progress, unit_of_work
from siyu.core.jobs import Job
from siyu.events.models import OutboxEvent
from siyu.journeys import engine
from siyu.journeys import service as journeys
from siyu.journeys.definition import EventEntry, SegmentEntry
from siyu.journeys.models import Journey, JourneyEntry
from siyu.journeys.sending import ORIGIN
from siyu.messaging import dispatch, group_sends
from siyu.messaging.models import Channel, Delivery, GroupSend
from siyu.segments.models import Segment, SegmentMember

ACTOR = "cli:demo"
NAMES = ("new-contact", "win-back")  # SOP templates; their keys are the templates' names
PUBLISHED_BEFORE = timedelta(days=10)
# Entries replayed per journey: every step shows, and the replay stays quick. The win-back's
# exit condition is a segment rule over the lake, read at every step (for the entries due at
# the same moment together, engine.holds_now): the stays past its share are let in by the
# worker's first admission, live.
MAX_ENTRIES = {"new-contact": 300, "win-back": 40}


def run_journeys(cutoff: datetime) -> None:
    """Publish the two journeys, let their customers in and run them up to the cutoff (once:
    a database that has them already is left as it is)."""
    published = cutoff - PUBLISHED_BEFORE
    with acting_as(ACTOR), unit_of_work() as session:
        if session.scalar(select(Journey.id).limit(1)) is not None:
            return
        for name in NAMES:
            journeys.create_journey(session, journeys.template(name), ACTOR, at=published)
            journeys.publish(session, name, ACTOR, at=published)
    with unit_of_work() as session:
        for name in NAMES:
            enter(session, journeys.find_journey(session, name), published, cutoff)
        replay(session, cutoff)


def enter(session: Session, journey: Journey, since: datetime, cutoff: datetime) -> None:
    """Who the journey's entry let in between publishing and the cutoff, at their times."""
    definition = journeys.definition_of(session, journey.id, journey.current_version or 0)
    if isinstance(definition.entry, EventEntry):
        found = _events(session, definition.entry.event, since, cutoff)
    elif isinstance(definition.entry, SegmentEntry):
        found = _stays(session, definition.entry.segment, since, cutoff)
    else:
        found = []
    step = max(1, -(-len(found) // MAX_ENTRIES[journey.key]))  # rounded up
    for customer_id, key, at in found[::step]:
        journeys.enter(session, journey, customer_id, key, at)
    journey.admitted_until = cutoff


def _events(
    session: Session, event: str, since: datetime, cutoff: datetime
) -> list[tuple[int, str, datetime]]:
    rows = session.execute(
        select(OutboxEvent.customer_id, OutboxEvent.source, OutboxEvent.message_id)
        .add_columns(OutboxEvent.timestamp)
        .where(
            OutboxEvent.event == event,
            OutboxEvent.customer_id.is_not(None),
            OutboxEvent.timestamp > since,
            OutboxEvent.timestamp <= cutoff,
        )
        .order_by(OutboxEvent.timestamp, OutboxEvent.id)
    )
    return [(c, f"event:{source}:{mid}", at) for c, source, mid, at in rows.all()]


def _stays(
    session: Session, key: str, since: datetime, cutoff: datetime
) -> list[tuple[int, str, datetime]]:
    """The segment's current stays; one begun after the cutoff (the demo's segments are
    refreshed as it is built) counts from the cutoff."""
    rows = session.execute(
        select(SegmentMember.id, SegmentMember.customer_id, SegmentMember.entered_at)
        .join(Segment, Segment.id == SegmentMember.segment_id)
        .where(Segment.key == key, SegmentMember.exited_at.is_(None))
        .order_by(SegmentMember.id)
    )
    return [
        (customer_id, f"segment:{stay_id}", min(max(at, since), cutoff))
        for stay_id, customer_id, at in rows.all()
    ]


def replay(session: Session, cutoff: datetime) -> None:
    """Run every journey step due by the cutoff at its due time, the messages planned before it
    sent first, as the worker would have; then the messages due by the cutoff."""
    while (job := _next_step(session, cutoff)) is not None:
        _dispatch_until(session, job.run_at)
        engine.run_step(session, dict(job.payload), now=job.run_at)
        session.execute(
            update(Job)
            .where(Job.id == job.id)
            .values(status="done", attempts=1, finished_at=job.run_at)
        )
        commit_progress(session, "a journey step run at its time")
    _dispatch_until(session, cutoff)


def _next_step(session: Session, cutoff: datetime) -> Job | None:
    return session.scalar(
        select(Job)
        .where(Job.kind == journeys.STEP_JOB, Job.status == "queued", Job.run_at <= cutoff)
        .order_by(Job.run_at, Job.id)
        .limit(1)
    )


def _dispatch_until(session: Session, until: datetime) -> None:
    """Hand the journeys' deliveries due by `until` to the console senders at their send times."""
    senders = dispatch.senders(session)
    configs = {row.channel: row.config or {} for row in session.scalars(select(Channel))}
    while (due := _next_due(session)) is not None and due <= until:
        channels = session.scalars(
            select(Delivery.channel)
            .where(Delivery.origin == ORIGIN, Delivery.status == "planned")
            .distinct()
        ).all()
        moved = 0
        for channel in channels:
            while step := dispatch.dispatch_channel(
                session, channel, senders.get(channel), configs.get(channel), now=due
            ):
                moved += step
        _confirm_shares(session, due)
        if not moved:  # held back (a platform's rate): the worker sends them later
            return


def _confirm_shares(session: Session, at: datetime) -> None:
    """The guides send a journey's WeCom messages as they come and confirm them on their page
    (WeCom in console mode)."""
    shares = session.scalars(
        select(GroupSend.id).where(
            GroupSend.origin == ORIGIN, GroupSend.status.in_(group_sends.CONFIRMABLE)
        )
    ).all()
    for share_id in shares:
        group_sends.confirm(session, share_id, at)


def _next_due(session: Session) -> datetime | None:
    return session.scalar(
        select(func.min(Delivery.send_at)).where(
            Delivery.origin == ORIGIN, Delivery.status == "planned"
        )
    )


def entries_by_step(session: Session) -> dict[str, dict[str, int]]:
    """Journey key → where its entries are: the step they wait at, or how they ended."""
    rows = session.execute(
        select(Journey.key, JourneyEntry.status, JourneyEntry.current_step, func.count())
        .join(Journey, Journey.id == JourneyEntry.journey_id)
        .group_by(Journey.key, JourneyEntry.status, JourneyEntry.current_step)
    )
    found: dict[str, dict[str, int]] = {}
    for key, status, step, count in rows.all():
        place = step if status == "active" else status
        found.setdefault(key, {})[place or status] = count
    return found
