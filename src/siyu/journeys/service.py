"""Journeys (旅程 / SOP): create from JSON, publish versions, pause, archive, list and show, and
let customers in exactly once per (journey, customer, entry key).

Publishing makes the draft the journey's current version; customers already inside finish on the
version they entered with. A customer enters at most once at a time (a partial unique index), and
again only as the re-entry policy allows. Each entry writes `Journey Entered` to the lake through
events' one writer, and its first step is a jobs-table row (journeys.engine runs it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core import jobs
from siyu.core.db import insert_for, utcnow
from siyu.core.errors import Conflict, InvalidInput, NotFound
from siyu.core.i18n import N_
from siyu.events import service as events
from siyu.journeys import sending
from siyu.journeys.definition import (
    CouponStep,
    Definition,
    DefinitionError,
    Problem,
    ScheduleEntry,
    SegmentEntry,
    parse_definition,
)
from siyu.journeys.models import Journey, JourneyEntry, JourneyStepRun, JourneyVersion
from siyu.promotions import service as promotions
from siyu.segments import service as segments

SOURCE = "journeys"
ENTERED, STEP_COMPLETED, EXITED = "Journey Entered", "Journey Step Completed", "Journey Exited"
STEP_JOB = "journeys.step"
TEMPLATES = ("new-contact", "first-order", "win-back", "birthday", "coupon-expiring")
_definitions: dict[tuple[int, int], Definition] = {}


def step_job_key(entry_id: int, step_id: str, suffix: str = "") -> str:
    return f"journey:{entry_id}:{step_id}{suffix}"


# --- definitions and versions -------------------------------------------------------------------


def check_definition(session: Session, document: Any) -> Definition:
    """The checked definition, its conditions' segments read from the database."""
    return parse_definition(document, segments.resolver(session))


def create_journey(
    session: Session, document: Any, actor: str, at: datetime | None = None
) -> Journey:
    """A new journey in draft, its definition as version 1 (unpublished); `at` where history
    is replayed (the demo)."""
    definition = check_definition(session, document)
    if session.scalar(select(Journey.id).where(Journey.key == definition.key)) is not None:
        raise Conflict(
            N_("a journey with the key %(key)s exists"),
            field="key",
            params={"key": repr(definition.key)},
        )
    now = at or utcnow()
    journey = Journey(
        key=definition.key,
        name=definition.name,
        status="draft",
        created_at=now,
        created_by=actor,
        updated_at=now,
        updated_by=actor,
    )
    session.add(journey)
    session.flush()
    session.add(_version(journey, 1, definition, actor, now))
    session.flush()
    return journey


def save_draft(session: Session, key: str, document: Any, actor: str) -> JourneyVersion:
    """The journey's next definition: it replaces the draft, or follows the last published one."""
    journey = find_journey(session, key)
    definition = check_definition(session, document)
    if definition.key != journey.key:
        raise InvalidInput(
            N_("the definition's key must stay %(key)s"),
            field="$.key",
            params={"key": repr(journey.key)},
        )
    _refuse_archived(journey)
    latest = latest_version(session, journey)
    now = utcnow()
    journey.name, journey.updated_at, journey.updated_by = definition.name, now, actor
    if latest.published_at is None:
        latest.definition, latest.created_at, latest.created_by = definition.raw, now, actor
        session.flush()
        return latest
    draft = _version(journey, latest.version + 1, definition, actor, now)
    session.add(draft)
    session.flush()
    return draft


def _version(
    journey: Journey, number: int, definition: Definition, actor: str, now: datetime
) -> JourneyVersion:
    return JourneyVersion(
        journey_id=journey.id,
        version=number,
        definition=definition.raw,
        created_at=now,
        created_by=actor,
    )


def publish(session: Session, key: str, actor: str, at: datetime | None = None) -> JourneyVersion:
    """Make the draft the current version and the journey active (new entries get it); `at`
    where history is replayed (the demo)."""
    journey = find_journey(session, key)
    _refuse_archived(journey)
    draft = latest_version(session, journey)
    if draft.published_at is not None:
        raise Conflict(
            N_("version %(version)s is already published: save a new definition first"),
            field="key",
            params={"version": draft.version},
        )
    definition = check_definition(session, draft.definition)
    refused = definition.unpublishable() + sending.content_problems(definition)
    if refused:
        raise DefinitionError(refused)
    _check_audience(session, definition)
    _check_coupons(session, definition)
    now = at or utcnow()
    draft.published_at, draft.published_by = now, actor
    sending.store_contents(session, journey.id, draft.version, definition)
    journey.current_version = draft.version
    journey.status = "active" if journey.status in ("draft", "active") else journey.status
    journey.updated_at, journey.updated_by = now, actor
    if journey.admitted_until is None:
        journey.admitted_until = now  # segment, tag and schedule entries count from here
    session.flush()
    return draft


def _check_audience(session: Session, definition: Definition) -> None:
    entry = definition.entry
    key = None
    if isinstance(entry, SegmentEntry):
        key = entry.segment
    elif isinstance(entry, ScheduleEntry):
        key = entry.schedule.segment
    if key is not None:
        try:
            segments.find_segment(session, key)
        except NotFound:
            no_segment = N_("no stored segment has the key %(key)s")
            raise DefinitionError([Problem("$.entry", no_segment, {"key": repr(key)})]) from None


def _check_coupons(session: Session, definition: Definition) -> None:
    """A coupon step names a template that exists."""
    problems = []
    for index, step in enumerate(definition.steps.values()):
        if isinstance(step, CouponStep):
            try:
                promotions.find_template(session, step.template)
            except NotFound:
                problems.append(
                    Problem(
                        f"$.steps[{index}].template",
                        N_("no coupon template has the key %(key)s"),
                        {"key": repr(step.template)},
                    )
                )
    if problems:
        raise DefinitionError(problems)


def _refuse_archived(journey: Journey) -> None:
    if journey.status == "archived":
        raise Conflict(N_("the journey is archived"), field="key")


def pause(session: Session, key: str, actor: str) -> Journey:
    """No one enters and no step runs until it is resumed; entries keep their place."""
    journey = find_journey(session, key)
    if journey.status != "active":
        raise Conflict(N_("only a running journey can be paused"), field="key")
    return _set_status(journey, "paused", actor)


def resume(session: Session, key: str, actor: str) -> Journey:
    """Active again: each entry's step that waited for the resume is due now."""
    journey = find_journey(session, key)
    if journey.status != "paused":
        raise Conflict(N_("only a paused journey can be resumed"), field="key")
    now = utcnow()
    held = session.scalars(
        select(JourneyEntry).where(
            JourneyEntry.journey_id == journey.id,
            JourneyEntry.status == "active",
            JourneyEntry.next_at.is_(None),
            JourneyEntry.waiting_event.is_(None),
        )
    )
    for entry in held:
        if entry.current_step:
            suffix = f":resumed-{now:%Y%m%dT%H%M%S%f}"
            schedule_step(session, entry, entry.current_step, now, suffix)
    return _set_status(journey, "active", actor)


def archive(session: Session, key: str, actor: str) -> Journey:
    """Archived for good: customers inside leave (reason `archived`), no one enters again."""
    journey = find_journey(session, key)
    now = utcnow()
    inside = session.scalars(
        select(JourneyEntry).where(
            JourneyEntry.journey_id == journey.id, JourneyEntry.status == "active"
        )
    )
    for entry in inside:
        end_entry(session, journey, entry, "exited", now, "archived")
    return _set_status(journey, "archived", actor)


def _set_status(journey: Journey, status: str, actor: str) -> Journey:
    journey.status, journey.updated_at, journey.updated_by = status, utcnow(), actor
    return journey


def find_journey(session: Session, key: str) -> Journey:
    journey = session.scalar(select(Journey).where(Journey.key == key))
    if journey is None:
        raise NotFound(N_("no journey has the key %(key)s"), field="key", params={"key": repr(key)})
    return journey


def latest_version(session: Session, journey: Journey) -> JourneyVersion:
    found = session.scalar(
        select(JourneyVersion)
        .where(JourneyVersion.journey_id == journey.id)
        .order_by(JourneyVersion.version.desc())
        .limit(1)
    )
    assert found is not None, "a journey is created with its first version"
    return found


def definition_of(session: Session, journey_id: int, version: int) -> Definition:
    """A published version's definition (parsed once per process while its JSON is the same)."""
    document = session.scalar(
        select(JourneyVersion.definition).where(
            JourneyVersion.journey_id == journey_id, JourneyVersion.version == version
        )
    )
    if document is None:
        raise NotFound(
            N_("journey %(id)s has no version %(version)s"),
            field="version",
            params={"id": journey_id, "version": version},
        )
    return parsed(journey_id, version, document)


def parsed(journey_id: int, version: int, document: dict[str, Any]) -> Definition:
    """A version's definition read from its JSON, parsed once per process while it is the same
    (a published version never changes; the check guards against ids reused after a reset)."""
    cached = _definitions.get((journey_id, version))
    if cached is not None and cached.raw == document:
        return cached
    definition = parse_definition(document)
    _definitions[(journey_id, version)] = definition
    return definition


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Overview:
    journey: Journey
    counts: dict[str, int]  # entries by status


def list_journeys(session: Session) -> list[Overview]:
    journeys = list(session.scalars(select(Journey).order_by(Journey.key)))
    counts = _entry_counts(session, [j.id for j in journeys])
    return [Overview(j, counts.get(j.id, _no_entries())) for j in journeys]


def _no_entries() -> dict[str, int]:
    return {"active": 0, "completed": 0, "exited": 0}


def _entry_counts(session: Session, journey_ids: list[int]) -> dict[int, dict[str, int]]:
    rows = session.execute(
        select(JourneyEntry.journey_id, JourneyEntry.status, func.count())
        .where(JourneyEntry.journey_id.in_(journey_ids))
        .group_by(JourneyEntry.journey_id, JourneyEntry.status)
    )
    found: dict[int, dict[str, int]] = {}
    for journey_id, status, count in rows:
        found.setdefault(journey_id, _no_entries())[status] = count
    return found


def summary(overview: Overview) -> dict[str, Any]:
    journey = overview.journey
    return {
        "key": journey.key,
        "name": journey.name,
        "status": journey.status,
        "current_version": journey.current_version,
        "entries": overview.counts,
        "updated_at": journey.updated_at,
        "updated_by": journey.updated_by,
    }


def waiting_by_step(session: Session, journey_id: int) -> dict[str, int]:
    """Entries inside the journey now, by the step they are at (due to run, or waiting)."""
    rows = session.execute(
        select(JourneyEntry.current_step, func.count())
        .where(
            JourneyEntry.journey_id == journey_id,
            JourneyEntry.status == "active",
            JourneyEntry.current_step.is_not(None),
        )
        .group_by(JourneyEntry.current_step)
    )
    return {step: count for step, count in rows if step is not None}


def show(session: Session, key: str) -> dict[str, Any]:
    """The journey with its versions, entries by status, and per step: runs by outcome."""
    journey = find_journey(session, key)
    versions = session.scalars(
        select(JourneyVersion)
        .where(JourneyVersion.journey_id == journey.id)
        .order_by(JourneyVersion.version)
    )
    steps = session.execute(
        select(JourneyStepRun.step_id, JourneyStepRun.status, func.count())
        .join(JourneyEntry, JourneyEntry.id == JourneyStepRun.entry_id)
        .where(JourneyEntry.journey_id == journey.id)
        .group_by(JourneyStepRun.step_id, JourneyStepRun.status)
    )
    per_step: dict[str, dict[str, int]] = {}
    for step_id, status, count in steps:
        per_step.setdefault(step_id, {})[status] = count
    counts = _entry_counts(session, [journey.id]).get(journey.id, _no_entries())
    return summary(Overview(journey, counts)) | {
        "created_at": journey.created_at,
        "created_by": journey.created_by,
        "versions": [
            {
                "version": v.version,
                "published_at": v.published_at,
                "published_by": v.published_by,
                "created_at": v.created_at,
                "created_by": v.created_by,
                "steps": len(v.definition.get("steps", [])),
            }
            for v in versions
        ],
        "steps": per_step,
        "definition": latest_version(session, journey).definition,
    }


# --- entering -----------------------------------------------------------------------------------


def enter(
    session: Session,
    journey: Journey,
    customer_id: int,
    entry_key: str,
    at: datetime | None = None,
) -> JourneyEntry | None:
    """Let the customer in on the current version; None when they may not (the journey is not
    active, they are inside, the re-entry policy says no) or this entry key entered already."""
    if journey.status != "active" or journey.current_version is None:
        return None
    at = at or utcnow()
    definition = definition_of(session, journey.id, journey.current_version)
    if not _may_enter(session, journey, customer_id, definition, at):
        return None
    entry_id = _insert_entry(session, journey, customer_id, entry_key, at)
    if entry_id is None:
        return None
    entry = session.get(JourneyEntry, entry_id)
    assert entry is not None
    properties = {"entry_key": entry_key}
    record_event(session, ENTERED, journey, entry, at, properties)
    schedule_step(session, entry, definition.start, at)
    return entry


def _may_enter(
    session: Session, journey: Journey, customer_id: int, definition: Definition, at: datetime
) -> bool:
    last = session.execute(
        select(JourneyEntry.status, JourneyEntry.entered_at)
        .where(JourneyEntry.journey_id == journey.id, JourneyEntry.customer_id == customer_id)
        .order_by(JourneyEntry.entered_at.desc(), JourneyEntry.id.desc())
        .limit(1)
    ).first()
    if last is None:
        return True
    status, entered_at = last
    policy = definition.reentry
    if status == "active" or policy.policy == "never":
        return False
    if policy.policy == "after_days":
        return at - entered_at >= timedelta(days=policy.days or 0)
    return True


def _insert_entry(
    session: Session, journey: Journey, customer_id: int, entry_key: str, at: datetime
) -> int | None:
    """INSERT … ON CONFLICT DO NOTHING: the same entry key, or a second active entry, is none."""
    row = {
        "journey_id": journey.id,
        "version": journey.current_version,
        "customer_id": customer_id,
        "entry_key": entry_key[:200],
        "status": "active",
        "entered_at": at,
    }
    statement = (
        insert_for(session, JourneyEntry)
        .values(row)
        .on_conflict_do_nothing()
        .returning(JourneyEntry.id)
    )
    return session.scalar(statement)


def schedule_step(
    session: Session, entry: JourneyEntry, step_id: str, run_at: datetime, suffix: str = ""
) -> None:
    """The entry's next step, as a job due at run_at (its key names the entry and the step)."""
    entry.current_step, entry.next_at = step_id, run_at
    payload = {"entry_id": entry.id, "step_id": step_id}
    jobs.enqueue(session, STEP_JOB, step_job_key(entry.id, step_id, suffix), payload, run_at)


def end_entry(
    session: Session,
    journey: Journey,
    entry: JourneyEntry,
    status: str,
    at: datetime,
    reason: str | None = None,
) -> None:
    """The entry is over: completed (its last step ran) or exited (with the reason)."""
    entry.status, entry.ended_at, entry.exit_reason = status, at, reason
    entry.next_at, entry.waiting_event = None, None
    if status == "exited":
        # The step it left at, for the per-step counts (analytics.journey_steps).
        where = {"step": entry.current_step} if entry.current_step else {}
        record_event(session, EXITED, journey, entry, at, {"reason": reason, **where})


def record_event(
    session: Session,
    event: str,
    journey: Journey,
    entry: JourneyEntry,
    at: datetime,
    extra: dict[str, Any] | None = None,
    step_id: str | None = None,
) -> None:
    """One brand event about this entry (`Journey Entered`, `Journey Step Completed`, `Journey
    Exited`), written with a dedup key of its own through events' one writer."""
    properties = {
        "journey": journey.key,
        "journey_id": journey.id,
        "version": entry.version,
        "entry_id": entry.id,
        **({"step": step_id} if step_id else {}),
        **({"arm": entry.arm} if entry.arm else {}),
        **(extra or {}),
    }
    slug = event.lower().replace(" ", "-")
    message_id = events.told_message_id(slug, journey.id, entry.id, entry.entry_key, step_id or "")
    row = events.event_row(
        message_id=message_id,
        source=SOURCE,
        event=event,
        customer_id=entry.customer_id,
        timestamp=at,
        original_timestamp=at,
        received_at=utcnow(),
        properties=properties,
    )
    events.record(session, SOURCE, [row])


def template(name: str) -> dict[str, Any]:
    """One of the SOP templates shipped in the package (TEMPLATES), as JSON to create from."""
    if name not in TEMPLATES:
        raise NotFound(
            N_("no template %(name)s: one of %(names)s"),
            field="template",
            params={"name": repr(name), "names": ", ".join(TEMPLATES)},
        )
    text = resources.files("siyu.journeys").joinpath(f"templates/{name}.json").read_text("utf-8")
    return orjson.loads(text)
