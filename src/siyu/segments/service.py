"""Stored segments: definitions, materialised members (entered / exited), refreshes, export."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from siyu.core import csvsafe, jobs
from siyu.core.db import unit_of_work, utcnow
from siyu.core.errors import Conflict, InvalidInput, NotFound
from siyu.core.i18n import N_
from siyu.customers.models import Customer, Identity
from siyu.segments.lifecycle import LifecycleThresholds, thresholds
from siyu.segments.models import SCHEDULES, Segment, SegmentMember, SegmentRefresh
from siyu.segments.rules import Resolve, parse_rule

KEY = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
RESERVED_KEYS = {"new", "list", "preview"}
MAX_DESCRIPTION = 1000
PERIODS = {"hourly": timedelta(hours=1), "daily": timedelta(days=1)}
WRITE_CHUNK = 5_000
Progress = Callable[[int], None]  # percent done


def resolver(session: Session) -> Resolve:
    """{"segment": KEY} → the stored segment's rule."""

    def resolve(key: str) -> dict | None:
        return session.scalar(select(Segment.rule).where(Segment.key == key))

    return resolve


def segment_rules(session: Session) -> dict[str, Any]:
    """Every stored segment's rule by key: a resolver read at once, for a preview that must not
    go back to the database while it runs."""
    return {key: rule for key, rule in session.execute(select(Segment.key, Segment.rule))}


def preview_inputs() -> tuple[dict[str, Any], LifecycleThresholds]:
    """What a preview reads from the database (the stored rules and the lifecycle days), in a
    short transaction of its own: the lake query after it then holds no connection."""
    with unit_of_work() as session:
        return segment_rules(session), thresholds(session)


def check_rule(session: Session, rule: Any, key: str | None = None) -> None:
    """Raise RuleError (with the bad node's path) unless the rule can run."""
    parse_rule(rule, resolver(session), key)


def create_segment(
    session: Session,
    key: str,
    name: str,
    rule: Any,
    schedule: str = "daily",
    created_by: str | None = None,
    description: str = "",
) -> Segment:
    key = key.strip()
    if not KEY.fullmatch(key) or key in RESERVED_KEYS:
        raise InvalidInput(
            N_("a segment key is 1 to 64 lower-case letters, digits, - or _"), field="key"
        )
    if session.scalar(select(Segment.id).where(Segment.key == key)) is not None:
        raise Conflict(N_("there is already a segment with this key"), field="key")
    segment = Segment(key=key, created_by=created_by or session.info.get("actor"))
    _fill(session, segment, name, rule, schedule, description)
    session.add(segment)
    session.flush()
    return segment


def update_segment(
    session: Session,
    key: str,
    *,
    name: str | None,
    rule: Any,
    schedule: str | None,
    description: str | None = None,
) -> Segment:
    """Change what is given (None keeps it); the key stays."""
    segment = find_segment(session, key)
    _fill(
        session,
        segment,
        segment.name if name is None else name,
        segment.rule if rule is None else rule,
        schedule or segment.schedule,
        segment.description if description is None else description,
    )
    session.flush()
    return segment


def _fill(
    session: Session, segment: Segment, name: str, rule: Any, schedule: str, description: str
) -> None:
    name, description = (name or "").strip(), (description or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput(N_("a segment name is 1 to 200 characters"), field="name")
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(N_("a description is at most 1,000 characters"), field="description")
    if schedule not in SCHEDULES:
        raise InvalidInput(N_("the schedule is manual, hourly or daily"), field="schedule")
    check_rule(session, rule, segment.key)
    segment.name, segment.rule, segment.schedule = name, rule, schedule
    segment.description = description
    period = PERIODS.get(schedule)
    segment.next_refresh_at = utcnow() + period if period else None


def find_segment(session: Session, key: str) -> Segment:
    segment = session.scalar(select(Segment).where(Segment.key == key))
    if segment is None:
        raise NotFound(N_("no such segment"), field="key")
    return segment


def list_segments(session: Session) -> list[Segment]:
    return list(session.scalars(select(Segment).order_by(Segment.name, Segment.key)))


def delete_segment(session: Session, key: str) -> None:
    segment = find_segment(session, key)
    users = [s.key for s in list_segments(session) if _names(s.rule, key)]
    if users:
        raise Conflict(N_("other segments use this one: ") + ", ".join(users), field="key")
    session.delete(segment)
    session.flush()


def _names(rule: Any, key: str) -> bool:
    """Whether a rule document names segment `key` anywhere."""
    if isinstance(rule, dict):
        return rule.get("segment") == key or any(_names(v, key) for v in rule.values())
    if isinstance(rule, list):
        return any(_names(v, key) for v in rule)
    return False


def users_of(session: Session, key: str) -> list[Segment]:
    """The segments whose rules name this one, directly or through others."""
    everything, found, named = list_segments(session), [], [key]
    while named:
        used = named.pop()
        for other in everything:
            if other.key != key and other not in found and _names(other.rule, used):
                found.append(other)
                named.append(other.key)
    return found


def refresh_changed(
    session: Session, segment: Segment, requested_by: str | None = None
) -> SegmentRefresh:
    """Refresh a segment whose rule was just changed, and every segment that names it, so the
    entry and exit times follow the new rule. A refresh already running read the old rule, so a
    new one is queued behind it (one still queued reads the rule when it starts)."""
    run = request_refresh(session, segment, "edit", requested_by, is_rule_changed=True)
    for user in users_of(session, segment.key):
        request_refresh(session, user, "edit", requested_by, is_rule_changed=True)
    return run


def report_filter(session: Session, key: str) -> dict[str, Any]:
    """A report's filters for a stored segment: its standalone rule, and the brand's lifecycle
    days its lifecycle conditions are counted with (as the segment's own refresh counts them)."""
    return {"segment": standalone_rule(session, key), "lifecycle": thresholds(session).model_dump()}


def standalone_rule(session: Session, key: str) -> Any:
    """A stored segment's rule with each `{"segment": KEY}` replaced by that segment's rule, so
    it runs where stored segments cannot be looked up (a report's filter on the lake)."""
    return _inlined(find_segment(session, key).rule, resolver(session), (key,))


def _inlined(rule: Any, resolve: Resolve, reading: tuple[str, ...]) -> Any:
    if isinstance(rule, list):
        return [_inlined(item, resolve, reading) for item in rule]
    if not isinstance(rule, dict):
        return rule
    key = rule.get("segment")
    if set(rule) == {"segment"} and isinstance(key, str) and key not in reading:
        named = resolve(key)
        if named is not None:
            return _inlined(named, resolve, (*reading, key))
    return {name: _inlined(value, resolve, reading) for name, value in rule.items()}


def request_refresh(
    session: Session,
    segment: Segment,
    reason: str = "manual",
    requested_by: str | None = None,
    is_rule_changed: bool = False,
) -> SegmentRefresh:
    """A refresh run as a job; one already waiting (or running, unless the rule has changed
    since it started) is returned instead."""
    statuses = ("queued",) if is_rule_changed else ("queued", "running")
    waiting = session.scalar(
        select(SegmentRefresh).where(
            SegmentRefresh.segment_id == segment.id, SegmentRefresh.status.in_(statuses)
        )
    )
    if waiting is not None:
        return waiting
    run = SegmentRefresh(
        segment_id=segment.id,
        reason=reason,
        requested_by=requested_by or session.info.get("actor"),
        status="queued",
        progress=0,
    )
    session.add(run)
    session.flush()
    key = jobs.row_key("segments.refresh", run.id, run.created_at)
    jobs.enqueue(session, "segments.refresh", key, {"refresh_id": run.id})
    return run


def refresh(
    session: Session,
    segment: Segment,
    as_of: datetime | None = None,
    progress: Progress | None = None,
) -> tuple[int, int, int]:
    """Bring the stored members in line with the rule now: (members, entered, exited).

    Run again, it changes nothing more, so a retried job is harmless. A customer who left gets
    exited_at; one who comes back later gets a new row.
    """
    from siyu.segments import evaluation  # Ibis: only refreshing a segment evaluates its rule

    progress = progress or (lambda _: None)
    now = as_of or utcnow()
    wanted = evaluation.member_ids(
        segment.rule,
        as_of=now,
        resolve=resolver(session),
        key=segment.key,
        thresholds=thresholds(session),
    )
    progress(30)
    current = set(
        session.scalars(
            select(SegmentMember.customer_id).where(
                SegmentMember.segment_id == segment.id, SegmentMember.exited_at.is_(None)
            )
        )
    )
    entered, exited = sorted(wanted - current), sorted(current - wanted)
    steps = max(1, (len(entered) + len(exited)) // WRITE_CHUNK + 1)
    done = 0
    for start in range(0, len(entered), WRITE_CHUNK):
        rows = [
            {"segment_id": segment.id, "customer_id": c, "entered_at": now}
            for c in entered[start : start + WRITE_CHUNK]
        ]
        session.execute(insert(SegmentMember), rows)
        done += 1
        progress(30 + 65 * done // steps)
    for start in range(0, len(exited), WRITE_CHUNK):
        session.execute(
            update(SegmentMember)
            .where(
                SegmentMember.segment_id == segment.id,
                SegmentMember.exited_at.is_(None),
                SegmentMember.customer_id.in_(exited[start : start + WRITE_CHUNK]),
            )
            .values(exited_at=now)
            .execution_options(synchronize_session=False)
        )
        done += 1
        progress(30 + 65 * done // steps)
    segment.member_count, segment.refreshed_at = len(wanted), now
    period = PERIODS.get(segment.schedule)
    segment.next_refresh_at = now + period if period else None
    session.flush()
    return len(wanted), len(entered), len(exited)


def latest_refresh(session: Session, segment: Segment) -> SegmentRefresh | None:
    return session.scalar(
        select(SegmentRefresh)
        .where(SegmentRefresh.segment_id == segment.id)
        .order_by(SegmentRefresh.id.desc())
        .limit(1)
    )


def current_members(
    session: Session, segment: Segment, after: int | None = None, limit: int = 50
) -> list[SegmentMember]:
    """Open stays, by customer id (keyset paging on `after`)."""
    query = select(SegmentMember).where(
        SegmentMember.segment_id == segment.id, SegmentMember.exited_at.is_(None)
    )
    if after is not None:
        query = query.where(SegmentMember.customer_id > after)
    return list(session.scalars(query.order_by(SegmentMember.customer_id).limit(limit)))


def member_ids(session: Session, segment: Segment) -> list[int]:
    return list(
        session.scalars(
            select(SegmentMember.customer_id)
            .where(SegmentMember.segment_id == segment.id, SegmentMember.exited_at.is_(None))
            .order_by(SegmentMember.customer_id)
        )
    )


def changes(session: Session, segment: Segment, limit: int = 20) -> list[dict]:
    """The latest entries and exits, newest first."""
    rows = session.scalars(
        select(SegmentMember)
        .where(SegmentMember.segment_id == segment.id)
        .order_by(func.coalesce(SegmentMember.exited_at, SegmentMember.entered_at).desc())
        .limit(limit)
    )
    found = list(rows)
    people = _people(session, [m.customer_id for m in found])
    return [
        {
            "customer_id": m.customer_id,
            "name": people.get(m.customer_id, ("", None))[0],
            "action": "exited" if m.exited_at else "entered",
            "at": m.exited_at or m.entered_at,
        }
        for m in found
    ]


@dataclass(frozen=True)
class MemberRow:
    """A current member as people read it: who (name, ids, phone, guide) and since when."""

    customer_id: int
    user_id: str
    name: str
    phone: str
    owner_id: int | None
    entered_at: datetime


def member_rows(
    session: Session, segment: Segment, limit: int | None = None
) -> Iterator[list[MemberRow]]:
    """Every current member (the first `limit`), by customer id, in chunks of MemberRow."""
    query = (
        select(SegmentMember.customer_id, SegmentMember.entered_at)
        .where(SegmentMember.segment_id == segment.id, SegmentMember.exited_at.is_(None))
        .order_by(SegmentMember.customer_id)
        .limit(limit)
    )
    for chunk in session.execute(query).yield_per(WRITE_CHUNK).partitions():
        ids = [row[0] for row in chunk]
        found, people = _ids_of(session, ids), _people(session, ids)
        rows = []
        for customer_id, entered_at in chunk:
            known = found.get(customer_id, {})
            name, owner_id = people.get(customer_id, ("", None))
            user_id, phone = known.get("user_id", ""), known.get("phone", "")
            rows.append(MemberRow(customer_id, user_id, name, phone, owner_id, entered_at))
        yield rows


def export_csv(session: Session, segment: Segment) -> Iterator[str]:
    """customer_id, user_id, phone, entered_at of every current member, as CSV text chunks."""
    buffer = io.StringIO()
    out = csvsafe.writer(buffer)
    out.writerow(["customer_id", "user_id", "phone", "entered_at"])
    for chunk in member_rows(session, segment):
        for m in chunk:
            out.writerow([m.customer_id, m.user_id, m.phone, m.entered_at])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def names_of(session: Session, customer_ids: list[int]) -> dict[int, str]:
    """The customers' names (the `name` trait), for those who have one."""
    return {c: name for c, (name, _) in _people(session, customer_ids).items() if name}


def _people(session: Session, customer_ids: list[int]) -> dict[int, tuple[str, int | None]]:
    """Each customer's name (the `name` trait) and guide."""
    found: dict[int, tuple[str, int | None]] = {}
    for start in range(0, len(customer_ids), 500):
        rows = session.execute(
            select(Customer.id, Customer.traits, Customer.owner_id).where(
                Customer.id.in_(customer_ids[start : start + 500])
            )
        )
        for customer_id, traits, owner_id in rows:
            name = (traits or {}).get("name") if isinstance(traits, dict) else None
            found[customer_id] = (name if isinstance(name, str) else "", owner_id)
    return found


def _ids_of(session: Session, customer_ids: list[int]) -> dict[int, dict[str, str]]:
    found: dict[int, dict[str, str]] = {}
    for start in range(0, len(customer_ids), 500):
        rows = session.execute(
            select(Identity.customer_id, Identity.type, Identity.value)
            .where(
                Identity.customer_id.in_(customer_ids[start : start + 500]),
                Identity.type.in_(("user_id", "phone")),
            )
            .order_by(Identity.id)
        )
        for customer_id, kind, value in rows:
            found.setdefault(customer_id, {}).setdefault(kind, value)
    return found


def due_segments(session: Session, now: datetime | None = None) -> list[Segment]:
    """Scheduled segments whose next refresh time has come."""
    now = now or utcnow()
    return list(
        session.scalars(
            select(Segment).where(
                Segment.next_refresh_at.is_not(None), Segment.next_refresh_at <= now
            )
        )
    )
