"""Who enters a journey, by its entry: an event (as events are written), joining a segment, a tag
put on, or a schedule's tick (the `journeys.admit` job, every minute).

Each names its entry key after what let the customer in (the event's source and messageId, the
segment stay, the tag change, the tick), so whatever is replayed or run twice enters no one twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from croniter import croniter
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.db import table_of, utcnow
from siyu.core.settings import get_settings
from siyu.events.catalogue import is_customer_act
from siyu.journeys import service
from siyu.journeys.definition import (
    Definition,
    EventEntry,
    ScheduleEntry,
    SegmentEntry,
    TagEntry,
    matches,
)
from siyu.journeys.models import Journey, JourneyVersion
from siyu.segments import service as segments
from siyu.segments.models import Segment, SegmentMember
from siyu.tags.models import Tag, TagChange

ADMIT_JOB = "journeys.admit"


def _active(session: Session) -> list[tuple[Journey, Definition]]:
    """Active journeys with their current definitions, in one query (ingest asks per batch)."""
    rows = session.execute(
        select(Journey, JourneyVersion.definition)
        .join(
            JourneyVersion,
            (JourneyVersion.journey_id == Journey.id)
            & (JourneyVersion.version == Journey.current_version),
        )
        .where(Journey.status == "active")
    ).all()
    return [(j, service.parsed(j.id, j.current_version or 0, raw)) for j, raw in rows]


def admit_events(session: Session, rows: list[dict[str, Any]]) -> int:
    """Subscriber: the customer's events just written let them into journeys entered by that
    event. A backfill (history imported) lets no one in."""
    acts = [
        r
        for r in rows
        if r["type"] == "track"
        and r["customer_id"]
        and not r.get("backfill")
        and is_customer_act(r["event"])
    ]
    if not acts:
        return 0
    entered = 0
    for journey_id, version in _active_versions(session):
        entry = service.definition_of(session, journey_id, version).entry
        if not isinstance(entry, EventEntry):
            continue
        for row in acts:
            if row["event"] == entry.event and matches(row["properties"], entry.where):
                key = f"event:{row['source']}:{row['message_id']}"
                journey = session.get_one(Journey, journey_id)
                entered += service.enter(session, journey, row["customer_id"], key) is not None
    return entered


def _active_versions(session: Session) -> list[tuple[int, int]]:
    """The active journeys' ids and current versions: one small query on every write of events
    (most brands run a few journeys, and most events start none), the definitions then read from
    the process's cache of parsed versions rather than loaded and parsed again."""
    return [(journey_id, version) for journey_id, version in session.execute(_ACTIVE_VERSIONS)]


_JOURNEYS = table_of(Journey)
# Built once: building a statement costs more than running this one.
_ACTIVE_VERSIONS = select(_JOURNEYS.c.id, _JOURNEYS.c.current_version).where(
    _JOURNEYS.c.status == "active", _JOURNEYS.c.current_version.is_not(None)
)


def admit(session: Session, payload: dict[str, Any]) -> None:
    """Job `journeys.admit`: segment stays begun, tags put on and schedule ticks since each
    active journey's last admission let customers in."""
    now = utcnow()
    for journey, definition in _active(session):
        since = journey.admitted_until or now
        entry = definition.entry
        if isinstance(entry, SegmentEntry):
            _segment_joins(session, journey, entry.segment, since, now)
        elif isinstance(entry, TagEntry):
            _tags_added(session, journey, entry.tag, since, now)
        elif isinstance(entry, ScheduleEntry):
            _schedule_tick(session, journey, entry, since, now)
        journey.admitted_until = now


def _segment_joins(
    session: Session, journey: Journey, key: str, since: datetime, now: datetime
) -> None:
    stays = session.execute(
        select(SegmentMember.id, SegmentMember.customer_id, SegmentMember.entered_at)
        .join(Segment, Segment.id == SegmentMember.segment_id)
        .where(
            Segment.key == key,
            SegmentMember.entered_at > since,
            SegmentMember.entered_at <= now,
        )
        .order_by(SegmentMember.id)
    )
    for stay_id, customer_id, _ in stays.all():
        service.enter(session, journey, customer_id, f"segment:{stay_id}", now)


def _tags_added(session: Session, journey: Journey, name: str, since: datetime, now: datetime):
    added = session.execute(
        select(TagChange.id, TagChange.customer_id)
        .join(Tag, Tag.id == TagChange.tag_id)
        .where(
            Tag.name == name,
            TagChange.action == "added",
            TagChange.at > since,
            TagChange.at <= now,
        )
        .order_by(TagChange.id)
    )
    for change_id, customer_id in added.all():
        service.enter(session, journey, customer_id, f"tag:{change_id}", now)


def _schedule_tick(
    session: Session, journey: Journey, entry: ScheduleEntry, since: datetime, now: datetime
) -> None:
    """The latest tick in (since, now], if any: the segment's members as last refreshed enter
    (after downtime, one tick, not one per missed tick)."""
    zone = get_settings().zone
    start = now.astimezone(zone).replace(microsecond=0)
    tick = croniter(entry.schedule.cron, start).get_prev(datetime).astimezone(UTC)
    if croniter.match(entry.schedule.cron, start):
        tick = start.astimezone(UTC)
    if not since < tick <= now:
        return
    segment = segments.find_segment(session, entry.schedule.segment)
    for customer_id in segments.member_ids(session, segment):
        service.enter(session, journey, customer_id, f"schedule:{tick:%Y%m%dT%H%M}", now)
