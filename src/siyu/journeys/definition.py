"""A journey's definition: versioned JSON read into typed models, every error named by its JSON
path (docs/journeys.md describes the format).

Steps form a graph from one start step: each names the step(s) it leads to. The kinds of step are
a registry (STEP_KINDS): a later domain adds its own (a coupon handed out) with `register`, and
the engine runs a kind through the runner registered for it (journeys.steps).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal, NamedTuple

import orjson
from croniter import croniter
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    HttpUrl,
    StringConstraints,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from siyu.core.errors import InvalidInput
from siyu.core.forms import field_error
from siyu.core.i18n import N_
from siyu.core.limits import Text, Text64, Text200
from siyu.messaging.models import CHANNELS, PURPOSES
from siyu.segments.rules import Resolve, RuleError, parse_rule

MAX_STEPS = 100
MAX_WAIT = timedelta(days=366)
MAX_BYTES = 256_000  # the definition as JSON
SLUG = r"^[a-z0-9][a-z0-9_-]{0,63}$"
# The condition "did this since entering", which the segment rule language cannot say alone:
# {"since_entry": {"event": NAME, "where": {…}}} reads as a sequence that starts with this entry's
# own `Journey Entered` event.
SINCE_ENTRY = "since_entry"
ENTERED = "Journey Entered"
NO_STEP = N_("no step has the id %(id)s")

Slug = Annotated[str, StringConstraints(pattern=SLUG)]
StepId = Annotated[str, StringConstraints(pattern=SLUG)]
Name = Annotated[Text200, StringConstraints(min_length=1, strip_whitespace=True)]
Scalar = str | int | float | bool


class Problem(NamedTuple):
    """What is wrong at one JSON path: a message id and its %-values, so a page translates the
    id first and fills the values in after."""

    path: str
    template: str
    params: dict[str, Any] = {}  # noqa: RUF012 - never changed, only read

    @property
    def message(self) -> str:
        """The English text, filled in (the API's and the CLI's)."""
        return self.template % self.params if self.params else self.template


class Refusal(ValueError):
    """A validator's refusal as a message id and its values (pydantic keeps the exception)."""

    def __init__(self, template: str, **params: Any):
        super().__init__(template % params if params else template)
        self.template, self.params = template, params


class DefinitionError(InvalidInput):
    """A definition that cannot be saved: every problem with its JSON path."""

    code = "invalid_journey"

    def __init__(self, problems: list[Problem]):
        first = problems[0]
        super().__init__(first.template, field=first.path, params=first.params)
        self.problems = problems

    def __str__(self) -> str:
        return "; ".join(f"{p.path}: {p.message}" for p in self.problems)

    def to_dict(self) -> dict[str, Any]:
        problems = [{"field": p.path, "message": p.message} for p in self.problems]
        return super().to_dict() | {"problems": problems}


# pydantic's error types as a definition's author is told them (core.forms has the rest).
JSON_MESSAGES = {
    "extra_forbidden": N_("is not a field of this object"),
    "string_pattern_mismatch": N_("must match %(pattern)s"),
    "literal_error": N_("must be one of %(expected)s"),
    "entry": N_("must name one of event, segment, tag or schedule"),
    "dict_type": N_("must be a JSON object"),
    "model_type": N_("must be a JSON object"),
    "list_type": N_("must be a list"),
    "string_type": N_("must be a string"),
    "bool_type": N_("must be true or false"),
    "too_short": N_("must have at least %(min_length)s items"),
    "too_long": N_("must have at most %(max_length)s items"),
    "time_delta_parsing": N_("must be an ISO 8601 duration such as P3D or PT2H"),
    "time_delta_type": N_("must be an ISO 8601 duration such as P3D or PT2H"),
}


def json_path(prefix: str, loc: tuple[int | str, ...]) -> str:
    """`$.steps[2].wait` from a pydantic error's location under `prefix`."""
    parts = [f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc]
    return prefix + "".join(parts)


def _problems(error: ValidationError, prefix: str) -> list[Problem]:
    # A union's branch name (a Tag) is not part of the JSON: drop it from the path.
    tags = {"event", "segment", "tag", "schedule"}
    found = []
    for item in error.errors(include_url=False):
        loc = tuple(p for i, p in enumerate(item["loc"]) if not (i == 1 and p in tags))
        found.append(Problem(json_path(prefix, loc), *_said(item)))
    return found


def _said(item: Any) -> tuple[str, dict[str, Any]]:
    """A pydantic error as a message id and its values."""
    refusal = (item.get("ctx") or {}).get("error")
    if isinstance(refusal, Refusal):
        return refusal.template, refusal.params
    said = field_error(item)
    return JSON_MESSAGES.get(item["type"], said.message), said.params


def _hh_mm(value: str) -> str:
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        raise Refusal(N_("must be a time of day HH:MM (00:00 to 23:59)"))
    return value


def _cron(value: str) -> str:
    if not croniter.is_valid(value) or len(value.split()) != 5:
        raise Refusal(N_("must be a cron expression of five fields, e.g. '0 10 * * *'"))
    return value


def _duration(value: timedelta) -> timedelta:
    if not timedelta(0) < value <= MAX_WAIT:
        raise Refusal(N_("must be an ISO 8601 duration above zero and at most P366D"))
    return value


Duration = Annotated[timedelta, AfterValidator(_duration)]
TimeOfDay = Annotated[str, AfterValidator(_hh_mm)]
Where = dict[Text64, Scalar | list[Scalar]]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- entries ------------------------------------------------------------------------------------


class EventEntry(Model):
    """A customer enters when they do this event (with these property values)."""

    event: Name
    where: Where = Field(default_factory=dict)


class SegmentEntry(Model):
    """A customer enters when they join this stored segment (a new stay)."""

    segment: Text64


class TagEntry(Model):
    """A customer enters when this tag is put on them."""

    tag: Name


class Schedule(Model):
    cron: Annotated[str, AfterValidator(_cron)]
    segment: Text64  # the audience: this stored segment's members at each tick


class ScheduleEntry(Model):
    """At every tick of the cron expression (the brand's zone), the segment's members enter."""

    schedule: Schedule


def _entry_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return next((k for k in ("event", "schedule", "segment", "tag") if k in value), None)
    return getattr(value, "kind", None)


Entry = Annotated[
    Annotated[EventEntry, Tag("event")]
    | Annotated[SegmentEntry, Tag("segment")]
    | Annotated[TagEntry, Tag("tag")]
    | Annotated[ScheduleEntry, Tag("schedule")],
    Discriminator(
        _entry_kind,
        custom_error_type="entry",
        custom_error_message="must name one of event, segment, tag or schedule",  # JSON_MESSAGES
    ),
]


class Reentry(Model):
    """Whether a customer may enter again once their entry ended: never, after `days`, always.
    A customer is inside a journey once at a time whatever the policy."""

    policy: Literal["never", "after_days", "always"] = "never"
    days: int | None = Field(None, ge=1, le=3650)

    @model_validator(mode="after")
    def _days_with_after(self) -> Reentry:
        if (self.policy == "after_days") != (self.days is not None):
            raise Refusal(N_("days is given with the after_days policy, and only with it"))
        return self


# --- steps --------------------------------------------------------------------------------------


class Step(Model):
    """What every step has: an id, its kind, and the step it leads to (none: the journey ends)."""

    id: StepId
    kind: str
    name: Text200 = ""
    next: StepId | None = None

    def targets(self) -> Iterator[tuple[str, str]]:
        """(field, step id) of each step this one may lead to."""
        if self.next:
            yield "next", self.next


class SendStep(Step):
    """Send a message on a channel, or on the first of a fallback order the customer can get."""

    kind: Literal["send"] = "send"
    channel: Literal[CHANNELS] | None = None  # type: ignore[valid-type]
    channels: list[Literal[CHANNELS]] | None = Field(None, min_length=1, max_length=5)  # type: ignore[valid-type]
    purpose: Literal[PURPOSES] = "marketing"  # type: ignore[valid-type]
    # Per channel: subject, text, html (email); template, params (sms); text, link… (wecom).
    content: dict[str, dict[Text64, Any]]

    @model_validator(mode="after")
    def _one_order_with_content(self) -> SendStep:
        if (self.channel is None) == (self.channels is None):
            raise Refusal(N_("give a channel, or channels (a fallback order), not both"))
        order = self.order
        if len(set(order)) != len(order):
            raise Refusal(N_("a channel appears twice in channels"))
        missing = [c for c in order if not self.content.get(c)]
        if missing:
            raise Refusal(N_("content has nothing for %(channels)s"), channels=", ".join(missing))
        unused = sorted(set(self.content) - set(order))
        if unused:
            raise Refusal(
                N_("content for a channel the step does not use: %(channels)s"),
                channels=", ".join(unused),
            )
        return self

    @property
    def order(self) -> list[str]:
        return [self.channel] if self.channel else list(self.channels or [])


class UntilEvent(Model):
    event: Name
    where: Where = Field(default_factory=dict)
    timeout: Duration
    timeout_next: StepId | None = None  # where a customer goes when the event did not come


class WaitStep(Step):
    """Wait a duration (P3D, PT2H), until a time of day in the recipient's zone, or until an
    event (then `next`), at most `timeout` (then `timeout_next`, else `next`)."""

    kind: Literal["wait"] = "wait"
    duration: Duration | None = None
    until_time: TimeOfDay | None = None
    until_event: UntilEvent | None = None

    @model_validator(mode="after")
    def _one_way(self) -> WaitStep:
        given = [self.duration, self.until_time, self.until_event]
        if sum(value is not None for value in given) != 1:
            raise Refusal(N_("a wait has one of duration, until_time or until_event"))
        return self

    def targets(self) -> Iterator[tuple[str, str]]:
        yield from super().targets()
        if self.until_event and self.until_event.timeout_next:
            yield "until_event.timeout_next", self.until_event.timeout_next


class BranchStep(Step):
    """Go to `then` when the condition (a segment rule, docs/segments.md) holds for the customer
    now, else to `else`."""

    model_config = ConfigDict(populate_by_name=True)

    kind: Literal["branch"] = "branch"
    next: None = None
    condition: dict[str, Any]
    then: StepId
    otherwise: StepId = Field(alias="else")

    def targets(self) -> Iterator[tuple[str, str]]:
        yield "then", self.then
        yield "else", self.otherwise


class Variant(Model):
    key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,16}$")]
    weight: int = Field(ge=1, le=1000)
    next: StepId


class SplitStep(Step):
    """An A/B split: each customer goes to one variant, drawn by the weights."""

    kind: Literal["split"] = "split"
    next: None = None
    variants: list[Variant] = Field(min_length=2, max_length=10)

    @field_validator("variants")
    @classmethod
    def _distinct(cls, variants: list[Variant]) -> list[Variant]:
        if len({v.key for v in variants}) != len(variants):
            raise Refusal(N_("each variant needs its own key"))
        return variants

    def targets(self) -> Iterator[tuple[str, str]]:
        for i, variant in enumerate(self.variants):
            yield f"variants[{i}].next", variant.next


class HoldoutStep(Step):
    """Hold `percent` of customers out (they leave, counted for the lift); the rest go on."""

    kind: Literal["holdout"] = "holdout"
    percent: float = Field(gt=0, lt=100)


class TagStep(Step):
    kind: Literal["tag"] = "tag"
    tag: Name


class UntagStep(Step):
    kind: Literal["untag"] = "untag"
    tag: Name


class TaskStep(Step):
    """Hand the customer's guide a task (导购任务) due in `due_days` (0: today)."""

    kind: Literal["task"] = "task"
    title: Name
    message: Text | None = None
    task_kind: Literal["message", "follow_up", "invite"] = "follow_up"
    due_days: int = Field(1, ge=0, le=365)


class CouponStep(Step):
    """Issue the customer a coupon of a template (券); `next` whatever came of it (issued, or
    passed over for the template's stock or the customer's limit)."""

    kind: Literal["coupon"] = "coupon"
    template: Slug


class WebhookStep(Step):
    """POST the body (a JSON object; strings in it may use {{ variables }}) to an http(s) URL."""

    kind: Literal["webhook"] = "webhook"
    url: Annotated[HttpUrl, Field(max_length=2000)]
    body: dict[Text64, Any] = Field(default_factory=dict)


class ExitStep(Step):
    kind: Literal["exit"] = "exit"
    next: None = None


@dataclass(frozen=True)
class StepKind:
    """A kind of step: its model, and why it cannot be published yet (None: it can)."""

    kind: str
    model: type[Step]
    not_publishable: str | None = None


STEP_KINDS: dict[str, StepKind] = {}


def register(kind: StepKind) -> None:
    """Add (or replace) a kind of step: the extension point for later domains (coupons)."""
    STEP_KINDS[kind.kind] = kind


for _model in (
    WaitStep,
    BranchStep,
    SplitStep,
    HoldoutStep,
    TagStep,
    UntagStep,
    TaskStep,
    CouponStep,
):
    register(StepKind(_model.model_fields["kind"].default, _model))
register(StepKind("webhook", WebhookStep))
register(StepKind("exit", ExitStep))
register(StepKind("send", SendStep))


# --- the definition -----------------------------------------------------------------------------


class Outline(Model):
    """The top level, with steps still raw (each is read by its kind's model)."""

    key: Slug
    name: Name
    description: Text = ""
    entry: Entry
    start: StepId | None = None
    steps: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_STEPS)
    exit_when: list[dict[str, Any]] = Field(default_factory=list, max_length=10)
    reentry: Reentry = Field(default_factory=Reentry)


@dataclass(frozen=True)
class Definition:
    """A checked definition; `raw` is the JSON it was read from (what a version stores)."""

    key: str
    name: str
    description: str
    entry: EventEntry | SegmentEntry | TagEntry | ScheduleEntry
    start: str
    steps: dict[str, Step]
    exit_when: list[dict[str, Any]]
    reentry: Reentry
    raw: dict[str, Any]

    def step(self, step_id: str) -> Step:
        return self.steps[step_id]

    def unpublishable(self) -> list[Problem]:
        """Each step of a kind that cannot be published yet, and why."""
        found = []
        for i, step in enumerate(self.steps.values()):
            why = STEP_KINDS[step.kind].not_publishable
            if why:
                found.append(Problem(f"$.steps[{i}].kind", why))
        return found


def parse_definition(document: Any, resolve: Resolve | None = None) -> Definition:
    """The checked definition of a JSON document, or DefinitionError naming every problem's
    path. `resolve` reads stored segments that conditions name."""
    if not isinstance(document, dict):
        raise DefinitionError([Problem("$", N_("must be a JSON object"))])
    if len(_dumps(document)) > MAX_BYTES:
        too_big = N_("a definition is at most %(max)s bytes of JSON")
        raise DefinitionError([Problem("$", too_big, {"max": f"{MAX_BYTES:,}"})])
    try:
        outline = Outline.model_validate(document)
    except ValidationError as error:
        problems = _problems(error, "$")
        raw = document.get("steps")
        if isinstance(raw, list) and all(p.path != "$.steps" for p in problems):
            problems += _steps(raw)[1]  # the steps' own problems too, in one answer
        raise DefinitionError(problems) from None
    steps, problems = _steps(outline.steps)
    start = outline.start or (steps[0].id if steps else "")
    if not problems:
        problems = _graph(steps, start, "start" if outline.start else "steps[0].id")
    problems += _conditions(outline, steps, resolve)
    if problems:
        raise DefinitionError(problems)
    return Definition(
        key=outline.key,
        name=outline.name,
        description=outline.description,
        entry=outline.entry,
        start=start,
        steps={step.id: step for step in steps},
        exit_when=outline.exit_when,
        reentry=outline.reentry,
        raw=document,
    )


def _dumps(document: Any) -> bytes:
    try:
        return orjson.dumps(document)
    except TypeError:
        raise DefinitionError([Problem("$", N_("must be JSON"))]) from None


def _steps(raw: list[dict[str, Any]]) -> tuple[list[Step], list[Problem]]:
    steps: list[Step] = []
    problems: list[Problem] = []
    for i, node in enumerate(raw):
        path = f"$.steps[{i}]"
        kind = node.get("kind") if isinstance(node, dict) else None
        if kind not in STEP_KINDS:
            known = ", ".join(sorted(STEP_KINDS))
            problems.append(
                Problem(f"{path}.kind", N_("must be one of %(expected)s"), {"expected": known})
            )
            continue
        try:
            steps.append(STEP_KINDS[kind].model.model_validate(node))
        except ValidationError as error:
            problems += _problems(error, path)
    return steps, problems


def _graph(steps: list[Step], start: str, start_field: str) -> list[Problem]:
    """Every target names a step, one start, every step reachable from it, and no cycle."""
    index: dict[str, int] = {}
    problems = []
    for i, step in enumerate(steps):
        if step.id in index:
            twice = N_("step id %(id)s is used twice")
            problems.append(Problem(f"$.steps[{i}].id", twice, {"id": repr(step.id)}))
        index.setdefault(step.id, i)
    if start not in index:
        return problems + [Problem(f"$.{start_field}", NO_STEP, {"id": repr(start)})]
    for i, step in enumerate(steps):
        for field, target in step.targets():
            path = f"$.steps[{i}].{field}"
            if target not in index:
                problems.append(Problem(path, NO_STEP, {"id": repr(target)}))
            elif target == start:
                back = N_("leads back to the start step %(id)s")
                problems.append(Problem(path, back, {"id": repr(start)}))
    if problems:
        return problems
    cycle = _cycle(steps, index, start)
    if cycle:
        return [cycle]
    reached = _reachable(steps, index, start)
    unreached = N_("step %(id)s cannot be reached from the start step %(start)s")
    return [
        Problem(f"$.steps[{i}]", unreached, {"id": repr(step.id), "start": repr(start)})
        for i, step in enumerate(steps)
        if step.id not in reached
    ]


def _cycle(steps: list[Step], index: dict[str, int], start: str) -> Problem | None:
    """The first edge that closes a cycle, as a problem (a depth-first search with colours)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    for root in [start, *index]:
        if root in state:
            continue
        stack: list[tuple[str, Iterator[tuple[str, str]]]] = [(root, steps[index[root]].targets())]
        state[root] = 1
        while stack:
            node, edges = stack[-1]
            edge = next(edges, None)
            if edge is None:
                state[node] = 2
                stack.pop()
                continue
            field, target = edge
            if state.get(target) == 1:
                path = f"$.steps[{index[node]}].{field}"
                cycle = N_("leads back to step %(id)s: steps may not form a cycle")
                return Problem(path, cycle, {"id": repr(target)})
            if target not in state:
                state[target] = 1
                stack.append((target, steps[index[target]].targets()))
    return None


def _reachable(steps: list[Step], index: dict[str, int], start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for _, target in steps[index[todo.pop()]].targets():
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _conditions(outline: Outline, steps: list[Step], resolve: Resolve | None) -> list[Problem]:
    problems = []
    for i, rule in enumerate(outline.exit_when):
        problems += check_condition(rule, f"$.exit_when[{i}]", resolve)
    for i, step in enumerate(outline.steps):
        parsed = next((s for s in steps if s.id == step.get("id")), None)
        if isinstance(parsed, BranchStep):
            problems += check_condition(parsed.condition, f"$.steps[{i}].condition", resolve)
    return problems


def check_condition(rule: Any, path: str, resolve: Resolve | None) -> list[Problem]:
    """Problems of a condition: the segment rule language, plus since_entry."""
    try:
        parse_rule(expand(rule, entry_id=1), resolve)
    except RuleError as error:
        return [Problem(path + error.path.removeprefix("$"), error.template, error.params)]
    return []


def matches(properties: str | dict | None, where: dict[str, Any]) -> bool:
    """An event's properties hold every `where` value (a list: one of them)."""
    found = orjson.loads(properties or "{}") if isinstance(properties, str) else properties or {}
    for name, value in where.items():
        allowed = value if isinstance(value, list) else [value]
        if found.get(name) not in allowed:
            return False
    return True


def expand(rule: Any, entry_id: int | list[int]) -> Any:
    """The rule with each {"since_entry": {...}} read for this entry: a sequence from the entry's
    own `Journey Entered` event to the event named. Given a list of entries (of one journey, so
    at most one a customer), from whichever of them is the customer's."""
    if isinstance(rule, list):
        return [expand(item, entry_id) for item in rule]
    if not isinstance(rule, dict):
        return rule
    if set(rule) == {SINCE_ENTRY} and isinstance(rule[SINCE_ENTRY], dict):
        entered = {"event": ENTERED, "where": {"entry_id": entry_id}}
        return {"sequence": [entered, rule[SINCE_ENTRY]]}
    return {key: expand(value, entry_id) for key, value in rule.items()}
