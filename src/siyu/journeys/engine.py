"""The journey engine's steps: the `journeys.step` job runs one step of one entry, once.

A step's job checks the exit conditions first (segment rules evaluated for this customer now),
runs the step by its kind's runner (RUNNERS, the registry a later domain extends beside
definition.STEP_KINDS), records the step run (unique per entry and step) with a `Journey Step
Completed` event, and books the next step as a job due when the step says. A domain error in a
step (a tag kept by its rule) ends the entry as `failed`, visible in `siyu journeys show`; any
other error fails the job, which the worker retries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from time import monotonic
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from siyu.core import jobs
from siyu.core.db import table_of, utcnow
from siyu.core.errors import SiyuError
from siyu.core.settings import get_settings
from siyu.customers.models import Customer
from siyu.events.models import LakeBatch
from siyu.journeys import sending, service
from siyu.journeys.definition import (
    BranchStep,
    CouponStep,
    Definition,
    HoldoutStep,
    SendStep,
    SplitStep,
    Step,
    TagStep,
    TaskStep,
    UntagStep,
    WaitStep,
    WebhookStep,
    expand,
    matches,
)
from siyu.journeys.models import Journey, JourneyEntry, JourneyStepRun
from siyu.promotions import service as promotions
from siyu.segments import service as segments
from siyu.segments.lifecycle import thresholds
from siyu.segments.rules import parse_rule
from siyu.tags import service as tags
from siyu.tasks import service as tasks

WEBHOOK_TIMEOUT = 10.0  # seconds
TIMEOUT_SUFFIX = ":timeout"


@dataclass(frozen=True)
class Context:
    session: Session
    journey: Journey
    entry: JourneyEntry
    definition: Definition
    now: datetime


@dataclass(frozen=True)
class Outcome:
    """What a step did: go to `next` at `at` (now when None), wait for an event, or exit."""

    label: str = "done"
    next: str | None = None
    at: datetime | None = None
    exit_reason: str | None = None
    waiting_for: str | None = None


Runner = Callable[[Context, Any], Outcome]
RUNNERS: dict[str, Runner] = {}


def runs(kind: str) -> Callable[[Runner], Runner]:
    """Register the runner of a kind of step (the engine's half of definition.register)."""

    def add(runner: Runner) -> Runner:
        RUNNERS[kind] = runner
        return runner

    return add


# --- the job ------------------------------------------------------------------------------------


def run_step(session: Session, payload: dict[str, Any], now: datetime | None = None) -> None:
    """Job `journeys.step`: run one step of one entry (payload: entry_id, step_id; `timeout`
    for the end of a wait for an event). Running it again changes nothing. `now` is the job's
    due time where history is replayed (the demo); the worker runs it now."""
    entry = session.get(JourneyEntry, payload["entry_id"])
    if entry is None or entry.status != "active":
        return
    step_id = payload["step_id"]
    done = session.scalar(
        select(JourneyStepRun).where(
            JourneyStepRun.entry_id == entry.id, JourneyStepRun.step_id == step_id
        )
    )
    if payload.get("timeout"):
        if done is not None and done.status == "waiting":
            _time_out(session, entry, done, now or utcnow())
        return
    if done is not None:
        return
    journey = session.get(Journey, entry.journey_id)
    assert journey is not None
    if journey.status == "paused":  # resume() books the step again
        entry.current_step, entry.next_at = step_id, None
        return
    definition = service.definition_of(session, journey.id, entry.version)
    context = Context(session, journey, entry, definition, now or utcnow())
    if any(holds_now(session, rule, entry, context.now) for rule in definition.exit_when):
        service.end_entry(session, journey, entry, "exited", context.now, "exit_condition")
        return
    step = definition.step(step_id)
    try:
        outcome = RUNNERS[step.kind](context, step)
    except SiyuError as error:
        _record(context, step_id, "failed", "error", error.message)
        service.end_entry(session, journey, entry, "exited", context.now, "failed")
        return
    _follow(context, step, outcome)


def _follow(context: Context, step: Step, outcome: Outcome) -> None:
    session, journey, entry, now = context.session, context.journey, context.entry, context.now
    if outcome.waiting_for:
        _record(context, step.id, "waiting", None)
        entry.waiting_event, entry.current_step, entry.next_at = outcome.waiting_for, step.id, None
        timeout = outcome.at or now
        key = service.step_job_key(entry.id, step.id, TIMEOUT_SUFFIX)
        payload = {"entry_id": entry.id, "step_id": step.id, "timeout": True}
        jobs.enqueue(session, service.STEP_JOB, key, payload, timeout)
        return
    _record(context, step.id, "done", outcome.label)
    _completed(context, step.id, outcome.label)
    if outcome.exit_reason:
        service.end_entry(session, journey, entry, "exited", now, outcome.exit_reason)
    elif outcome.next:
        service.schedule_step(session, entry, outcome.next, outcome.at or now)
    else:
        entry.current_step = None
        service.end_entry(session, journey, entry, "completed", now)


def _record(context: Context, step_id: str, status: str, label: str | None, error=None) -> None:
    run = JourneyStepRun(
        entry_id=context.entry.id,
        step_id=step_id,
        status=status,
        outcome=label,
        error=error,
        at=context.now,
    )
    context.session.add(run)
    context.session.flush()


def _completed(context: Context, step_id: str, label: str) -> None:
    service.record_event(
        context.session,
        service.STEP_COMPLETED,
        context.journey,
        context.entry,
        context.now,
        {"outcome": label},
        step_id=step_id,
    )


def _time_out(session: Session, entry: JourneyEntry, run: JourneyStepRun, now: datetime) -> None:
    journey = session.get(Journey, entry.journey_id)
    assert journey is not None
    definition = service.definition_of(session, journey.id, entry.version)
    step = definition.step(run.step_id)
    assert isinstance(step, WaitStep) and step.until_event is not None
    _resume_wait(Context(session, journey, entry, definition, now), run, "timeout")


def _resume_wait(context: Context, run: JourneyStepRun, label: str) -> None:
    """A wait for an event is over: the event came (`event`) or the timeout passed."""
    step = context.definition.step(run.step_id)
    assert isinstance(step, WaitStep) and step.until_event is not None
    run.status, run.outcome, run.at = "done", label, context.now
    context.entry.waiting_event = None
    _completed(context, step.id, label)
    target = step.next if label == "event" else (step.until_event.timeout_next or step.next)
    if target:
        service.schedule_step(context.session, context.entry, target, context.now)
    else:
        service.end_entry(context.session, context.journey, context.entry, "completed", context.now)


_ENTRIES = table_of(JourneyEntry)
# Built once: building a statement costs more than running this one on every write of events.
_WAITING = select(_ENTRIES.c.id).where(
    _ENTRIES.c.waiting_event.in_(bindparam("events", expanding=True)),
    _ENTRIES.c.customer_id.in_(bindparam("customers", expanding=True)),
    _ENTRIES.c.status == "active",
)


def wake_waiting(session: Session, rows: list[dict[str, Any]]) -> int:
    """Subscriber: entries waiting for an event that these stored events carry go on now."""
    done = [r for r in rows if r["event"] and r["customer_id"]]
    if not done:
        return 0
    waiting = session.scalars(  # ids first (a table query): on most writes none is waiting
        _WAITING,
        {
            "events": list({r["event"] for r in done}),
            "customers": list({r["customer_id"] for r in done}),
        },
    ).all()
    woken = 0
    for entry_id in waiting:
        woken += _wake(session, session.get_one(JourneyEntry, entry_id), done)
    return woken


def _wake(session: Session, entry: JourneyEntry, rows: list[dict[str, Any]]) -> int:
    journey = session.get(Journey, entry.journey_id)
    assert journey is not None and entry.current_step is not None
    definition = service.definition_of(session, journey.id, entry.version)
    step = definition.step(entry.current_step)
    assert isinstance(step, WaitStep) and step.until_event is not None
    wanted = step.until_event
    for row in rows:
        if (
            row["customer_id"] == entry.customer_id
            and row["event"] == wanted.event
            and row["timestamp"] >= entry.entered_at
            and matches(row["properties"], wanted.where)
        ):
            run = session.scalar(
                select(JourneyStepRun).where(
                    JourneyStepRun.entry_id == entry.id, JourneyStepRun.step_id == step.id
                )
            )
            assert run is not None
            _resume_wait(Context(session, journey, entry, definition, utcnow()), run, "event")
            return 1
    return 0


# --- conditions ---------------------------------------------------------------------------------


def holds_now(session: Session, rule: Any, entry: JourneyEntry, now: datetime) -> bool:
    """Whether a segment rule (since_entry read for this entry) holds for the entry's customer
    now: the segments' compiler over the lake. One lake query answers for a batch of the
    journey's entries due about now (BATCH), kept until the lake takes a batch, a minute passes, or
    `now` moves on, so that a thousand timers due at once cost a few queries, not a thousand."""
    key = (get_settings().database_url, get_settings().lake, entry.journey_id, _rule_key(rule))
    mark = _lake_mark(session)
    known = _answers.get(key)
    if known is None or not known.fresh(entry.id, mark, now):
        known = _answer_batch(session, rule, entry, now, mark)
        if len(_answers) >= MAX_RULES_KEPT:
            _answers.clear()
        _answers[key] = known
    return known.holds[entry.id]


BATCH = 500  # entries a lake query answers for (a since_entry rule lists their ids)
KEPT_SECONDS = 60.0
MAX_RULES_KEPT = 64


@dataclass
class _Answers:
    """One rule's answers for a batch of entries, and what they were read against."""

    holds: dict[int, bool]
    mark: str
    now: datetime
    read_at: float

    def fresh(self, entry_id: int, mark: str, now: datetime) -> bool:
        return (
            entry_id in self.holds
            and mark == self.mark
            and abs((now - self.now).total_seconds()) <= KEPT_SECONDS
            and monotonic() - self.read_at <= KEPT_SECONDS
        )


_answers: dict[tuple[Any, ...], _Answers] = {}


def _rule_key(rule: Any) -> str:
    return json.dumps(rule, sort_keys=True, ensure_ascii=False, default=str)


def _lake_mark(session: Session) -> str:
    """The newest lake batch and whether it shipped: it changes as the lake does (read by the
    primary key: lake_batches keeps every batch ever shipped)."""
    newest = session.execute(
        select(LakeBatch.id, LakeBatch.status).order_by(LakeBatch.id.desc()).limit(1)
    ).first()
    return f"{newest.id}:{newest.status}" if newest else ""


def _answer_batch(
    session: Session, rule: Any, entry: JourneyEntry, now: datetime, mark: str
) -> _Answers:
    # Imported here: Ibis loads only in the worker that runs a condition, not in every process
    # that wires the subscribers below.
    from siyu.core.lake_tables import open_tables
    from siyu.segments.compile import members_expr

    due = session.execute(
        select(JourneyEntry.id, JourneyEntry.customer_id)
        .where(
            JourneyEntry.journey_id == entry.journey_id,
            JourneyEntry.status == "active",
            JourneyEntry.next_at <= now + timedelta(seconds=KEPT_SECONDS),
            JourneyEntry.id != entry.id,
        )
        .order_by(JourneyEntry.next_at, JourneyEntry.id)
        .limit(BATCH - 1)
    ).all()
    batch = {entry.id: entry.customer_id} | {row.id: row.customer_id for row in due}
    ids = sorted(batch)
    parsed = parse_rule(expand(rule, ids[0] if len(ids) == 1 else ids), segments.resolver(session))
    tables = open_tables(None, "duckdb")
    members = members_expr(parsed, tables, now, thresholds(session), get_settings().zone)
    mine = members.filter(members.customer_id.isin(sorted(set(batch.values()))))
    found = set(mine.select("customer_id").distinct().to_pyarrow().column(0).to_pylist())
    holds = {entry_id: customer_id in found for entry_id, customer_id in batch.items()}
    return _Answers(holds, mark, now, monotonic())


# --- the runners --------------------------------------------------------------------------------


@runs("send")
def _send(context: Context, step: SendStep) -> Outcome:
    label = sending.send(context.session, context.journey, context.entry, step, context.now)
    return Outcome(label=label, next=step.next)


@runs("wait")
def _wait(context: Context, step: WaitStep) -> Outcome:
    if step.duration is not None:
        return Outcome(next=step.next, at=context.now + step.duration)
    if step.until_time is not None:
        zone = customer_zone(context.session, context.entry.customer_id)
        return Outcome(next=step.next, at=next_time_of_day(context.now, step.until_time, zone))
    assert step.until_event is not None
    return Outcome(waiting_for=step.until_event.event, at=context.now + step.until_event.timeout)


def customer_zone(session: Session, customer_id: int) -> ZoneInfo:
    """The customer's own time zone (the `timezone` trait), else the brand's."""
    traits = session.scalar(select(Customer.traits).where(Customer.id == customer_id)) or {}
    name = traits.get("timezone") if isinstance(traits, dict) else None
    if isinstance(name, str):
        try:
            return ZoneInfo(name)
        except (ValueError, KeyError, OSError):
            pass
    return get_settings().zone


def next_time_of_day(now: datetime, hh_mm: str, zone: ZoneInfo) -> datetime:
    """The first moment at or after `now` that reads HH:MM on the zone's clocks."""
    hour, minute = map(int, hh_mm.split(":"))
    local = now.astimezone(zone)
    for days in range(3):
        day = local.date() + timedelta(days=days)
        candidate = datetime.combine(day, time(hour, minute), zone)
        if candidate >= now:
            return candidate.astimezone(now.tzinfo)
    raise AssertionError("a time of day comes within two days")


@runs("branch")
def _branch(context: Context, step: BranchStep) -> Outcome:
    holds = holds_now(context.session, step.condition, context.entry, context.now)
    return Outcome(label="then" if holds else "else", next=step.then if holds else step.otherwise)


def bucket(*parts: object) -> float:
    """A stable draw in [0, 100) for these parts (the same customer always lands alike)."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * 100


@runs("split")
def _split(context: Context, step: SplitStep) -> Outcome:
    total = sum(v.weight for v in step.variants)
    point = bucket(context.journey.key, step.id, context.entry.customer_id) / 100 * total
    for variant in step.variants:
        point -= variant.weight
        if point < 0:
            break
    context.entry.arm = context.entry.arm or variant.key
    return Outcome(label=variant.key, next=variant.next)


@runs("holdout")
def _holdout(context: Context, step: HoldoutStep) -> Outcome:
    if bucket(context.journey.key, step.id, context.entry.customer_id) < step.percent:
        context.entry.arm = "holdout"
        return Outcome(label="holdout", exit_reason="holdout")
    return Outcome(label="treated", next=step.next)


def _actor(context: Context) -> str:
    return f"journey:{context.journey.key}"


@runs("tag")
def _tag(context: Context, step: TagStep) -> Outcome:
    tag = tags.ensure_tag(context.session, step.tag)
    tags.tag_customer(context.session, context.entry.customer_id, tag.id, actor=_actor(context))
    return Outcome(next=step.next)


@runs("untag")
def _untag(context: Context, step: UntagStep) -> Outcome:
    try:
        tag = tags.find_tag(context.session, step.tag)
    except SiyuError:
        return Outcome(label="absent", next=step.next)
    removed = tags.untag_customer(
        context.session, context.entry.customer_id, tag.id, actor=_actor(context)
    )
    return Outcome(label="removed" if removed else "absent", next=step.next)


@runs("task")
def _task(context: Context, step: TaskStep) -> Outcome:
    today = context.now.astimezone(get_settings().zone).date()
    task = tasks.create_task(
        context.session,
        step.title,
        today + timedelta(days=step.due_days),
        _actor(context),
        kind=step.task_kind,
        customer_ids=[context.entry.customer_id],
        message=step.message,
        now=context.now,
    )
    return Outcome(label="assigned" if task.unowned == 0 else "no_guide", next=step.next)


@runs("coupon")
def _coupon(context: Context, step: CouponStep) -> Outcome:
    """One coupon; a template paused, ended or gone issues none, and the customer goes on."""
    try:
        done = promotions.issue(
            context.session,
            step.template,
            [context.entry.customer_id],
            "journey",
            context.journey.key,
            context.now,
        )
    except SiyuError:
        return Outcome(label="unavailable", next=step.next)
    if done.coupons:
        return Outcome(label="issued", next=step.next)
    return Outcome(label=next(iter(+done.skipped), "limit"), next=step.next)


@runs("webhook")
def _webhook(context: Context, step: WebhookStep) -> Outcome:
    import httpx
    from jinja2.sandbox import SandboxedEnvironment

    variables = {
        "customer_id": context.entry.customer_id,
        "journey": context.journey.key,
        "entry_id": context.entry.id,
        "step": step.id,
    }
    templates = SandboxedEnvironment(autoescape=False)
    body = {name: _render(templates, value, variables) for name, value in step.body.items()}
    response = httpx.post(
        str(step.url),
        json=body,
        timeout=WEBHOOK_TIMEOUT,
        headers={"Idempotency-Key": service.step_job_key(context.entry.id, step.id)},
    )
    response.raise_for_status()  # the job is retried; the key lets the receiver drop a repeat
    return Outcome(label=str(response.status_code), next=step.next)


def _render(templates: Any, value: Any, variables: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return templates.from_string(value).render(variables)
    if isinstance(value, dict):
        return {k: _render(templates, v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(templates, v, variables) for v in value]
    return value


@runs("exit")
def _exit(context: Context, step: Step) -> Outcome:
    return Outcome(label="exit", exit_reason="exit_step")
