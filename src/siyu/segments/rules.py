"""The segment rule language: a typed model parsed from JSON, every error named by its path."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from siyu.core.errors import InvalidInput
from siyu.core.i18n import N_
from siyu.core.limits import MAX_ROW_ID
from siyu.core.settings import get_settings
from siyu.touchpoints.models import GROUPS as TOUCHPOINT_GROUPS

Scalar = str | int | float | bool
Resolve = Callable[[str], dict | None]  # a segment's key → its rule (None when there is none)

VALUE_OPS = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "contains", "exists")
COMPARISON_OPS = ("eq", "ne", "gt", "gte", "lt", "lte")
PROFILE_FIELDS = ("first_touchpoint", "last_touchpoint", "owner", "store")
LIFECYCLE_STAGES = ("new", "active", "silent", "churned")
RFM_LAYERS = (
    "important_value",  # 重要价值
    "important_development",  # 重要发展
    "important_retention",  # 重要保持
    "important_recovery",  # 重要挽留
    "general_value",  # 一般价值
    "general_development",  # 一般发展
    "general_retention",  # 一般保持
    "general_recovery",  # 一般挽留
)
KINDS = (
    ("and", "or", "not", "attribute", "tag", "event", "sequence")
    + PROFILE_FIELDS
    + ("lifecycle", "rfm", "segment")
)
MAX_DAYS = 36_500
MAX_LIST = 1_000
MAX_STEPS = 10
NAME_PATH = re.compile(r"[\w-]+(\.[\w-]+)*")
# What a text field must be (1 to 200 characters, no NUL), by the field.
EVENT_NAME = N_("must be an event name (1 to 200 characters, no NUL)")
TAG_NAME = N_("must be a tag name (1 to 200 characters, no NUL)")
SEGMENT_KEY = N_("must be a segment key (1 to 200 characters, no NUL)")
TOUCHPOINT_CODE = N_("must be a touchpoint code (1 to 200 characters, no NUL)")
TEXT = N_("must be a string (1 to 200 characters, no NUL)")


class RuleError(InvalidInput):
    """A rule that cannot run; `path` is the JSON path of the bad node."""

    code = "invalid_rule"

    def __init__(self, path: str, template: str, **params: Any):
        super().__init__(template, field=path, params=params)
        self.path = path

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class RuleTooCostly(RuleError):
    """A rule past one of the cost limits; `limit` names the setting that sets it."""

    status = 422
    code = "rule_too_costly"

    def __init__(self, path: str, template: str, limit: str, value: int):
        super().__init__(path, template, limit=limit, max=value)
        self.limit, self.value = limit, value

    def to_dict(self) -> dict:
        return super().to_dict() | {"limit": self.limit, "max": self.value}


@dataclass(frozen=True)
class RuleLimits:
    """What one rule may cost, counting the rules of the segments it names."""

    conditions: int = 50
    event_conditions: int = 10  # event and sequence conditions: each one scans events
    depth: int = 20

    @classmethod
    def from_settings(cls) -> RuleLimits:
        settings = get_settings()
        return cls(
            settings.segment_max_conditions,
            settings.segment_max_event_conditions,
            settings.segment_max_depth,
        )


@dataclass(frozen=True)
class ValueCheck:
    """A test on one JSON value: a trait, or an event's property (`path` walks nested objects)."""

    path: tuple[str, ...]
    op: str
    value: Scalar | tuple[Scalar, ...]


@dataclass(frozen=True)
class Comparison:
    """Bounds that must all hold, e.g. (("gte", 2), ("lt", 5))."""

    bounds: tuple[tuple[str, int | float], ...]


@dataclass(frozen=True)
class And:
    conditions: tuple[Rule, ...]


@dataclass(frozen=True)
class Or:
    conditions: tuple[Rule, ...]


@dataclass(frozen=True)
class Not:
    condition: Rule


@dataclass(frozen=True)
class Attribute:
    check: ValueCheck


@dataclass(frozen=True)
class HasTag:
    tag: str


@dataclass(frozen=True)
class Total:
    """The sum of a numeric event property, compared."""

    path: tuple[str, ...]
    comparison: Comparison


@dataclass(frozen=True)
class Performed:
    event: str
    within_days: int | None
    count: Comparison
    where: tuple[ValueCheck, ...] = ()
    total: Total | None = None


@dataclass(frozen=True)
class Step:
    event: str
    where: tuple[ValueCheck, ...] = ()


@dataclass(frozen=True)
class Sequence:
    steps: tuple[Step, ...]
    within_days: int | None


@dataclass(frozen=True)
class ProfileIn:
    """first_touchpoint / last_touchpoint / owner / store is one of `values`."""

    field: str
    values: tuple[str, ...] | tuple[int, ...]


@dataclass(frozen=True)
class TouchpointGroupIn:
    """first_touchpoint / last_touchpoint is a touchpoint of one of `groups` ("any store
    code"): read from the touchpoints as they are when the rule runs, so a new one counts."""

    field: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class LifecycleIn:
    stages: tuple[str, ...]


@dataclass(frozen=True)
class RfmIn:
    layers: tuple[str, ...]


@dataclass(frozen=True)
class InSegment:
    key: str
    rule: Rule


Rule = (
    And
    | Or
    | Not
    | Attribute
    | HasTag
    | Performed
    | Sequence
    | ProfileIn
    | TouchpointGroupIn
    | LifecycleIn
    | RfmIn
    | InSegment
)


def parse_rule(
    document: Any,
    resolve: Resolve | None = None,
    key: str | None = None,
    limits: RuleLimits | None = None,
) -> Rule:
    """The typed rule for a JSON document; `key` names it, so a reference back to it is a cycle.
    A rule past `limits` (default: the SIYU_SEGMENT_MAX_* settings) raises RuleTooCostly."""
    parser = _Parser(resolve, (key,) if key else (), limits or RuleLimits.from_settings())
    return parser.rule(document, "$", 0)


class _Parser:
    def __init__(self, resolve: Resolve | None, segments: tuple[str, ...], limits: RuleLimits):
        self.resolve = resolve
        self.segments = segments  # the segments being read, outermost first
        self.limits = limits
        self.conditions = 0
        self.event_conditions = 0

    def rule(self, node: Any, path: str, depth: int) -> Rule:
        if depth > self.limits.depth:
            raise RuleTooCostly(
                path,
                N_("the rule nests too deep (%(limit)s is %(max)s)"),
                "SIYU_SEGMENT_MAX_DEPTH",
                self.limits.depth,
            )
        self.conditions += 1
        if self.conditions > self.limits.conditions:
            raise RuleTooCostly(
                path,
                N_(
                    "too many conditions, counting those of the segments named"
                    " (%(limit)s is %(max)s)"
                ),
                "SIYU_SEGMENT_MAX_CONDITIONS",
                self.limits.conditions,
            )
        if not isinstance(node, dict):
            raise RuleError(path, N_("must be an object (one condition)"))
        kind = _kind(node, path)
        if kind in ("event", "sequence"):
            self._count_event(path)
        return getattr(self, f"_{kind}")(node, path, depth)

    def _count_event(self, path: str) -> None:
        self.event_conditions += 1
        if self.event_conditions > self.limits.event_conditions:
            raise RuleTooCostly(
                path,
                N_(
                    "too many event and sequence conditions, counting those of the segments"
                    " named (%(limit)s is %(max)s)"
                ),
                "SIYU_SEGMENT_MAX_EVENT_CONDITIONS",
                self.limits.event_conditions,
            )

    def _conditions(self, node: dict, path: str, depth: int, kind: str) -> tuple[Rule, ...]:
        _only(node, path, {kind}, kind)
        items = node[kind]
        if not isinstance(items, list) or not items:
            raise RuleError(f"{path}.{kind}", N_("must be a non-empty list of conditions"))
        return tuple(
            self.rule(item, f"{path}.{kind}[{i}]", depth + 1) for i, item in enumerate(items)
        )

    def _and(self, node: dict, path: str, depth: int) -> Rule:
        return And(self._conditions(node, path, depth, "and"))

    def _or(self, node: dict, path: str, depth: int) -> Rule:
        return Or(self._conditions(node, path, depth, "or"))

    def _not(self, node: dict, path: str, depth: int) -> Rule:
        _only(node, path, {"not"}, "not")
        return Not(self.rule(node["not"], f"{path}.not", depth + 1))

    def _attribute(self, node: dict, path: str, depth: int) -> Rule:
        _only(node, path, {"attribute", "op", "value"}, "attribute")
        name = _name_path(node["attribute"], f"{path}.attribute")
        if "op" not in node:
            raise RuleError(
                f"{path}.op", N_("is required; one of %(choices)s"), choices=_list(VALUE_OPS)
            )
        op = _value_op(node["op"], f"{path}.op")
        return Attribute(_value_check(name, op, node, path))

    def _tag(self, node: dict, path: str, depth: int) -> Rule:
        _only(node, path, {"tag"}, "tag")
        return HasTag(_text(node["tag"], f"{path}.tag", TAG_NAME))

    def _event(self, node: dict, path: str, depth: int) -> Rule:
        _only(node, path, {"event", "within_days", "count", "where", "sum"}, "event")
        count = node.get("count", {"gte": 1})
        return Performed(
            event=_text(node["event"], f"{path}.event", EVENT_NAME),
            within_days=_within_days(node, path),
            count=_comparison(count, f"{path}.count", _count_bound),
            where=_where(node["where"], f"{path}.where") if "where" in node else (),
            total=_total(node["sum"], f"{path}.sum") if "sum" in node else None,
        )

    def _sequence(self, node: dict, path: str, depth: int) -> Rule:
        _only(node, path, {"sequence", "within_days"}, "sequence")
        steps = node["sequence"]
        if not isinstance(steps, list) or not 2 <= len(steps) <= MAX_STEPS:
            raise RuleError(
                f"{path}.sequence", N_("must list 2 to %(max)s events in order"), max=MAX_STEPS
            )
        parsed = tuple(_step(step, f"{path}.sequence[{i}]") for i, step in enumerate(steps))
        return Sequence(parsed, _within_days(node, path))

    def _first_touchpoint(self, node: dict, path: str, depth: int) -> Rule:
        return _profile(node, path, "first_touchpoint")

    def _last_touchpoint(self, node: dict, path: str, depth: int) -> Rule:
        return _profile(node, path, "last_touchpoint")

    def _owner(self, node: dict, path: str, depth: int) -> Rule:
        return _profile(node, path, "owner")

    def _store(self, node: dict, path: str, depth: int) -> Rule:
        return _profile(node, path, "store")

    def _lifecycle(self, node: dict, path: str, depth: int) -> Rule:
        return LifecycleIn(_choices(node, path, "lifecycle", LIFECYCLE_STAGES))

    def _rfm(self, node: dict, path: str, depth: int) -> Rule:
        return RfmIn(_choices(node, path, "rfm", RFM_LAYERS))

    def _segment(self, node: dict, path: str, depth: int) -> Rule:
        _only(node, path, {"segment"}, "segment")
        key = _text(node["segment"], f"{path}.segment", SEGMENT_KEY)
        if key in self.segments:
            cycle = " → ".join((*self.segments[self.segments.index(key) :], key))
            raise RuleError(
                f"{path}.segment",
                N_("segments refer to each other in a cycle: %(cycle)s"),
                cycle=cycle,
            )
        document = self._lookup(key, f"{path}.segment")
        self.segments = (*self.segments, key)
        try:
            return InSegment(key, self.rule(document, f"{path}.segment({key})", depth + 1))
        finally:
            self.segments = self.segments[:-1]

    def _lookup(self, key: str, path: str) -> Any:
        if self.resolve is None:
            raise RuleError(path, N_("segments cannot be referenced here"))
        try:
            document = self.resolve(key)
        except KeyError:
            document = None
        if document is None:
            raise RuleError(path, N_("no segment %(key)s"), key=repr(key))
        return document


def _kind(node: dict, path: str) -> str:
    kinds = [k for k in KINDS if k in node]
    if not kinds:
        raise RuleError(path, N_("unknown condition; use one of %(choices)s"), choices=_list(KINDS))
    if len(kinds) > 1:
        found = " and ".join(kinds)
        raise RuleError(path, N_("one condition per object, found %(kinds)s"), kinds=found)
    return kinds[0]


def _only(node: dict, path: str, allowed: set[str], kind: str) -> None:
    for key in node:
        if key not in allowed:
            raise RuleError(
                f"{path}.{key}",
                N_("unknown field of %(kind)s (it takes %(fields)s)"),
                kind=repr(kind),
                fields=_list(sorted(allowed)),
            )


def _text(value: Any, path: str, message: str) -> str:
    """`value` when it is text of 1 to 200 characters without NUL, else `message` (what it
    must be) at `path`."""
    if not isinstance(value, str) or not value.strip() or len(value) > 200 or "\x00" in value:
        raise RuleError(path, message)
    return value


def _list(values: Any) -> str:
    return ", ".join(values)


def _name_path(value: Any, path: str) -> tuple[str, ...]:
    if not isinstance(value, str) or not NAME_PATH.fullmatch(value):
        raise RuleError(
            path, N_("must be a name of letters, digits, _ or - (nested names with dots)")
        )
    return tuple(value.split("."))


def _value_op(value: Any, path: str) -> str:
    if value not in VALUE_OPS:
        raise RuleError(path, N_("must be one of %(choices)s"), choices=_list(VALUE_OPS))
    return value


def _value_check(name: tuple[str, ...], op: str, node: dict, path: str) -> ValueCheck:
    if op == "exists":
        value = node.get("value", True)
        if not isinstance(value, bool):
            raise RuleError(f"{path}.value", N_("must be true or false for exists"))
        return ValueCheck(name, op, value)
    if "value" not in node:
        raise RuleError(f"{path}.value", N_("is required for %(op)s"), op=op)
    return ValueCheck(name, op, _op_value(op, node["value"], f"{path}.value"))


def _op_value(op: str, value: Any, path: str) -> Scalar | tuple[Scalar, ...]:
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not 0 < len(value) <= MAX_LIST:
            raise RuleError(path, N_("must be a non-empty list for %(op)s"), op=op)
        return tuple(_scalar(v, f"{path}[{i}]") for i, v in enumerate(value))
    if op in ("gt", "gte", "lt", "lte"):
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise RuleError(path, N_("must be a number or a string for %(op)s"), op=op)
        return _scalar(value, path)
    if op == "contains":
        return _text(value, path, TEXT)
    return _scalar(value, path)


def _scalar(value: Any, path: str) -> Scalar:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _text(value, path, TEXT) if "\x00" in value else value
    if isinstance(value, int):
        return _bounded_int(value, path)
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise RuleError(path, N_("must be a string, a number or true/false"))


def _number(value: Any, path: str) -> int | float:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if not is_number or not math.isfinite(value):
        raise RuleError(path, N_("must be a number"))
    return _bounded_int(value, path) if isinstance(value, int) else value


def _count_bound(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RuleError(path, N_("must be a non-negative integer"))
    return _bounded_int(value, path)


def _bounded_int(value: int, path: str) -> int:
    if not -MAX_ROW_ID - 1 <= value <= MAX_ROW_ID:
        raise RuleError(path, N_("is out of range (a 64-bit integer)"))
    return value


def _comparison(node: Any, path: str, bound: Callable[[Any, str], int | float]) -> Comparison:
    if not isinstance(node, dict) or not node:
        raise RuleError(
            path, N_("must be an object of bounds (%(choices)s)"), choices=_list(COMPARISON_OPS)
        )
    bounds = []
    for op, value in node.items():
        if op not in COMPARISON_OPS:
            raise RuleError(
                f"{path}.{op}", N_("is not a bound; use %(choices)s"), choices=_list(COMPARISON_OPS)
            )
        bounds.append((op, bound(value, f"{path}.{op}")))
    return Comparison(tuple(bounds))


def _within_days(node: dict, path: str) -> int | None:
    if "within_days" not in node:
        return None
    days = node["within_days"]
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise RuleError(
            f"{path}.within_days", N_("must be a whole number of days, 1 to %(max)s"), max=MAX_DAYS
        )
    return days


def _where(node: Any, path: str) -> tuple[ValueCheck, ...]:
    if not isinstance(node, dict) or not node:
        raise RuleError(path, N_("must be an object of property: value"))
    return tuple(_property_check(name, value, f"{path}.{name}") for name, value in node.items())


def _property_check(name: str, value: Any, path: str) -> ValueCheck:
    names = _name_path(name, path)
    if isinstance(value, list):
        return ValueCheck(names, "in", _op_value("in", value, path))
    if not isinstance(value, dict):
        return ValueCheck(names, "eq", _scalar(value, path))
    if len(value) != 1:
        raise RuleError(path, N_('must hold exactly one operator, e.g. {"gte": 100}'))
    op = _value_op(next(iter(value)), f"{path}.{next(iter(value))}")
    return _value_check(names, op, {"value": value[op]}, f"{path}.{op}")


def _total(node: Any, path: str) -> Total:
    if not isinstance(node, dict) or "property" not in node:
        raise RuleError(path, N_('must name a "property" and give bounds, e.g. {"gte": 100}'))
    bounds = {k: v for k, v in node.items() if k != "property"}
    return Total(
        _name_path(node["property"], f"{path}.property"), _comparison(bounds, path, _number)
    )


def _step(node: Any, path: str) -> Step:
    if isinstance(node, str):
        return Step(_text(node, path, EVENT_NAME))
    if not isinstance(node, dict) or "event" not in node:
        raise RuleError(path, N_('must be an event name or {"event": NAME, "where": {...}}'))
    _only(node, path, {"event", "where"}, "sequence step")
    where = _where(node["where"], f"{path}.where") if "where" in node else ()
    return Step(_text(node["event"], f"{path}.event", EVENT_NAME), where)


def _in_list(node: dict, path: str, kind: str, word: str = "in") -> list:
    """The list of `{kind: {word: [...]}}`."""
    _only(node, path, {kind}, kind)
    body = node[kind]
    if not isinstance(body, dict) or set(body) != {word}:
        raise RuleError(f"{path}.{kind}", N_('must be {"%(word)s": [...]}'), word=word)
    values = body[word]
    if not isinstance(values, list) or not 0 < len(values) <= MAX_LIST:
        raise RuleError(f"{path}.{kind}.{word}", N_("must be a non-empty list"))
    return values


def _profile(node: dict, path: str, field: str) -> ProfileIn | TouchpointGroupIn:
    body = node.get(field)
    if field.endswith("_touchpoint") and isinstance(body, dict) and set(body) == {"in_group"}:
        groups = _choices(node, path, field, TOUCHPOINT_GROUPS, "in_group")
        return TouchpointGroupIn(field, groups)
    values = _in_list(node, path, field)
    where = f"{path}.{field}.in"
    if field in ("owner", "store"):
        return ProfileIn(field, tuple(_whole_id(v, f"{where}[{i}]") for i, v in enumerate(values)))
    return ProfileIn(
        field, tuple(_text(v, f"{where}[{i}]", TOUCHPOINT_CODE) for i, v in enumerate(values))
    )


def _whole_id(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuleError(path, N_("must be an id (a whole number)"))
    return _bounded_int(value, path)


def _choices(
    node: dict, path: str, kind: str, allowed: tuple[str, ...], word: str = "in"
) -> tuple[str, ...]:
    values = _in_list(node, path, kind, word)
    for i, value in enumerate(values):
        if value not in allowed:
            raise RuleError(
                f"{path}.{kind}.{word}[{i}]",
                N_("must be one of %(choices)s"),
                choices=_list(allowed),
            )
    return tuple(values)


@dataclass
class Named:
    """What a rule names that must exist to match anyone: events, tags, touchpoint codes,
    stores and owners (guides), each in the order first named."""

    events: list[str]
    tags: list[str]
    touchpoints: list[str]
    stores: list[int]
    owners: list[int]


def named_in(rule: Rule) -> Named:
    """The events, tags, touchpoints, stores and owners `rule` names, the segments it names
    followed (a page warns of one that does not exist: it silently matches no one)."""
    named = Named([], [], [], [], [])
    _collect(rule, named)
    return named


def _collect(rule: Rule, named: Named) -> None:
    match rule:
        case And(conditions) | Or(conditions):
            for condition in conditions:
                _collect(condition, named)
        case Not(condition) | InSegment(rule=condition):
            _collect(condition, named)
        case HasTag(tag):
            _add(named.tags, tag)
        case Performed(event=event):
            _add(named.events, event)
        case Sequence(steps):
            for step in steps:
                _add(named.events, step.event)
        case ProfileIn(field, values):
            found = {"store": named.stores, "owner": named.owners}.get(field, named.touchpoints)
            for value in values:
                _add(found, value)


def _add(found: list, value: Any) -> None:
    if value not in found:
        found.append(value)
