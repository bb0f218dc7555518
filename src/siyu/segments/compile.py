"""Segment rules → one Ibis expression over the lake's tables (DuckDB today, PySpark later)."""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Hashable
from datetime import UTC, datetime, timedelta
from functools import reduce
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir

from siyu.core.engines import JsonAt, json_text_at
from siyu.core.lake_tables import Tables
from siyu.segments.lifecycle import LifecycleThresholds, lifecycle_stage
from siyu.segments.rfm import rfm_layers
from siyu.segments.rules import (
    And,
    Attribute,
    Comparison,
    HasTag,
    InSegment,
    LifecycleIn,
    Not,
    Or,
    Performed,
    ProfileIn,
    RfmIn,
    Rule,
    Sequence,
    Step,
    TouchpointGroupIn,
    ValueCheck,
)

Predicate = Callable[[ir.Table], ir.BooleanValue]

# A fully refunded order is not a purchase; a partly refunded one counts at its net amount.
COUNTED_STATUSES = ("completed", "partially_refunded")
PROFILE_COLUMNS = {
    "first_touchpoint": "first_touchpoint",
    "last_touchpoint": "last_touchpoint",
    "owner": "owner_id",
    "store": "store_id",
}
COMPARE = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def members_expr(
    rule: Rule,
    tables: Tables,
    as_of: datetime,
    thresholds: LifecycleThresholds | None = None,
    zone: ZoneInfo | None = None,
) -> ir.Table:
    """The canonical customers the rule holds for at `as_of`: one column, customer_id.

    `zone` is the lake's partition zone; given, event reads skip date partitions out of reach.
    """
    builder = _Builder(tables, as_of.astimezone(UTC), thresholds or LifecycleThresholds(), zone)
    held = []
    for condition in _conjuncts(rule):
        if builder.absent(condition):
            continue
        held.append(builder.predicate(condition))
        builder.require(condition)
    wide = builder.wide()
    if held:
        wide = wide.filter(_combine(operator.and_, held)(wide))
    return wide.select("customer_id")


def _conjuncts(rule: Rule) -> list[Rule]:
    """The conditions that must all hold (a top-level and, segments inside it followed)."""
    match rule:
        case And(conditions):
            return [part for condition in conditions for part in _conjuncts(condition)]
        case InSegment(rule=inner):
            return _conjuncts(inner)
    return [rule]


def with_user_ids(members: ir.Table, tables: Tables) -> ir.Table:
    """Members with their user_id (the smallest, if merges left them several), by customer_id."""
    identities = tables.identities
    ids = identities.filter(identities.type == "user_id").select("customer_id", user_id="value")
    ids = _canonical(ids, tables.customer_map)
    per_customer = ids.group_by("customer_id").aggregate(user_id=ids.user_id.min())
    joined = members.left_join(per_customer, "customer_id").drop("customer_id_right")
    return joined.order_by("customer_id")


def value_check(text: ir.StringValue, check: ValueCheck) -> ir.BooleanValue:
    """A trait or property test on a JSON text column; never null (a missing value fails)."""
    is_list = check.op in ("in", "not_in")
    values = check.value if is_list and isinstance(check.value, tuple) else (check.value,)
    if check.op in ("eq", "ne", "in", "not_in") and all(map(_plain_text, values)):
        found = json_text_at(text, check.path)  # one pass where the JSON type cannot matter
        if found is not None:
            held = found.isin(list(values)).fill_null(False)
            return held if check.op in ("eq", "in") else ~held
    return VALUE_TESTS[check.op](JsonAt(text, check.path), check.value)


def _plain_text(value: object) -> bool:
    """A string no other JSON value prints as: not itself JSON text ("store", not "1")."""
    if not isinstance(value, str):
        return False
    try:
        json.loads(value)
    except ValueError:
        return True
    return False


class _Builder:
    """Builds one wide table (a row per canonical customer, a column group per feature)."""

    def __init__(
        self,
        tables: Tables,
        as_of: datetime,
        thresholds: LifecycleThresholds,
        zone: ZoneInfo | None,
    ):
        self.tables, self.as_of, self.thresholds, self.zone = tables, as_of, thresholds, zone
        customers = tables.customers
        self.people = customers.filter(customers.merged_into_id.isnull())
        self.features: dict[Hashable, tuple[str, ir.Table]] = {}
        self.modes: dict[Hashable, str] = {}
        self.columns: set[str] = set()  # the profile columns the rule reads

    def wide(self) -> ir.Table:
        """People with every feature: left-joined, or inner-joined where a required condition
        needs a row (most rules: only the customers who did something are read past the join),
        or anti-joined where a required condition is that something did not happen."""
        wide = self.people.select("customer_id", *sorted(self.columns))
        for key, (_, table) in self.features.items():
            match self.modes.get(key, "left"):
                case "inner":
                    wide = wide.join(table, "customer_id")
                case "anti":
                    wide = wide.anti_join(table, "customer_id")
                case _:
                    columns = [wide[name] for name in wide.columns]
                    columns += [table[name] for name in table.columns if name != "customer_id"]
                    wide = wide.left_join(table, "customer_id").select(*columns)
        return wide

    def require(self, rule: Rule) -> None:
        """`rule` must hold for every member: a feature it fails without can be inner-joined."""
        key: Hashable
        match rule:
            case HasTag(tag):
                key = ("tag", tag)
            case Sequence() | RfmIn():
                key = rule if isinstance(rule, Sequence) else "rfm"
            case Performed() if not _holds_at(rule.count, 0) or (
                rule.total and not _holds_at(rule.total.comparison, 0.0)
            ):
                key = _performed_key(rule)
            case _:
                return
        if key in self.features:
            self.modes[key] = "inner"

    def absent(self, rule: Rule) -> bool:
        """A required "did not" (count 0, or not performed at all): an anti-join on who did."""
        match rule:
            case Performed(total=None, count=count) if _none_of(count):
                performed = rule
            case Not(Performed(total=None, count=count) as performed) if _any_of(count):
                pass
            case _:
                return False
        key = ("absent", performed.event, performed.within_days, performed.where)
        self.feature(key, lambda _: self._event_rows(*key[1:]).select("customer_id"))
        self.modes[key] = "anti"
        return True

    def feature(self, key: Hashable, build: Callable[[str], ir.Table]) -> str:
        """Join a per-customer table once; `build(name)` names its columns after `name`."""
        if key not in self.features:
            name = f"feature_{len(self.features)}"
            self.features[key] = (name, build(name))
        return self.features[key][0]

    def predicate(self, rule: Rule) -> Predicate:
        match rule:
            case And(conditions):
                return _combine(operator.and_, [self.predicate(c) for c in conditions])
            case Or(conditions):
                return _combine(operator.or_, [self.predicate(c) for c in conditions])
            case Not(condition):
                inner = self.predicate(condition)
                return lambda t: ~inner(t)
            case Attribute(check):
                self.columns.add("traits")
                return lambda t: value_check(t.traits, check)
            case ProfileIn(field, values):
                column = PROFILE_COLUMNS[field]
                self.columns.add(column)
                return lambda t: t[column].isin(values).fill_null(False)
            case TouchpointGroupIn(field, groups):
                column = PROFILE_COLUMNS[field]
                self.columns.add(column)
                touchpoints = self.tables.touchpoints
                codes = touchpoints.filter(touchpoints.group.isin(groups)).code
                return lambda t: t[column].isin(codes).fill_null(False)
            case InSegment(rule=inner):
                return self.predicate(inner)
            case _:
                return self._feature_predicate(rule)

    def _feature_predicate(self, rule: Rule) -> Predicate:
        match rule:
            case HasTag(tag):
                name = self.feature(("tag", tag), lambda n: self._tagged(tag, n))
                return lambda t: t[name].notnull()
            case Sequence():
                name = self.feature(rule, lambda n: self._in_sequence(rule, n))
                return lambda t: t[name].notnull()
            case LifecycleIn(stages):
                name = self.feature("lifecycle", self._lifecycle)
                return lambda t: t[name].isin(stages).fill_null(False)
            case RfmIn(layers):
                name = self.feature("rfm", self._rfm)
                return lambda t: t[name].isin(layers).fill_null(False)
            case Performed():
                return self._performed(rule)
        raise TypeError(f"not a rule: {rule!r}")

    def _performed(self, rule: Performed) -> Predicate:
        name = self.feature(_performed_key(rule), lambda n: self._event_counts(rule, n))

        def holds(t: ir.Table) -> ir.BooleanValue:
            held = _compare(t[f"{name}_count"].fill_null(0), rule.count)
            if rule.total:
                held &= _compare(t[f"{name}_total"].fill_null(0.0), rule.total.comparison)
            return held

        return holds

    def _event_counts(self, rule: Performed, name: str) -> ir.Table:
        rows = self._event_rows(rule.event, rule.within_days, rule.where)
        measures = {f"{name}_count": rows.count()}
        if rule.total:  # a property that is not a number adds nothing
            amount = JsonAt(rows.properties, rule.total.path).number.fill_null(0.0)
            measures[f"{name}_total"] = amount.sum()
        return rows.group_by("customer_id").aggregate(**measures)

    def _event_rows(
        self, event: str, within_days: int | None, where: tuple[ValueCheck, ...]
    ) -> ir.Table:
        """The event's rows at or before as_of (and inside the window), by canonical customer."""
        events = self.tables.events
        kept = [
            events.event == event,
            events.customer_id.notnull(),
            events.timestamp <= ibis.literal(self.as_of),
            *self._partitions(events, within_days),
            *(value_check(events.properties, check) for check in where),
        ]
        if within_days:
            kept.append(events.timestamp > ibis.literal(self.as_of - timedelta(days=within_days)))
        rows = events.filter(*kept).select("customer_id", "timestamp", "properties")
        return _canonical(rows, self.tables.customer_map)

    def _partitions(self, events: ir.Table, within_days: int | None) -> list[ir.BooleanValue]:
        """Date-partition bounds, a day wider each side than the window, so none is missed."""
        if self.zone is None or "date" not in events.columns or not events.date.type().is_date():
            return []
        day = timedelta(days=1)
        bounds = [events.date <= self.as_of.astimezone(self.zone).date() + day]
        if within_days:
            start = self.as_of - timedelta(days=within_days)
            bounds.append(events.date >= start.astimezone(self.zone).date() - day)
        return bounds

    def _in_sequence(self, sequence: Sequence, name: str) -> ir.Table:
        """Each step strictly after the one before, the last within N days of the first.

        From every start, the earliest next step is taken: if any chain fits the window, that
        greedy one does. Plain joins and min(), no ASOF join (PySpark has none).
        """
        first, *rest = (self._step_rows(step) for step in sequence.steps)
        chains = first.select("customer_id", started=first.timestamp, reached=first.timestamp)
        chains = chains.distinct()
        for rows in rest:
            step = rows.select(step_customer=rows.customer_id, step_at=rows.timestamp)
            on = [chains.customer_id == step.step_customer, step.step_at > chains.reached]
            if sequence.within_days:
                limit = chains.started + ibis.interval(days=sequence.within_days)
                on.append(step.step_at <= limit)
            joined = chains.join(step, on)
            chains = joined.group_by("customer_id", "started").aggregate(
                reached=joined.step_at.min()
            )
        return chains.select("customer_id").distinct().mutate(**{name: ibis.literal(True)})

    def _step_rows(self, step: Step) -> ir.Table:
        return self._event_rows(step.event, None, step.where)

    def _tagged(self, tag: str, name: str) -> ir.Table:
        tags = self.tables.customer_tags
        rows = _canonical(
            tags.filter(tags.tag == tag).select("customer_id"), self.tables.customer_map
        )
        return rows.distinct().mutate(**{name: ibis.literal(True)})

    def _buyers(self) -> ir.Table:
        """Per canonical customer: last counted order at or before as_of, orders, net fen."""
        orders = self.tables.orders
        counted = orders.filter(
            orders.customer_id.notnull(),
            orders.paid_at.notnull(),
            orders.paid_at <= ibis.literal(self.as_of),
            orders.status.isin(COUNTED_STATUSES),
        )
        net = counted.amount_fen.fill_null(0) - counted.refunded_fen.fill_null(0)
        rows = _canonical(
            counted.select("customer_id", "paid_at", net_fen=net), self.tables.customer_map
        )
        return rows.group_by("customer_id").aggregate(
            last_paid_at=rows.paid_at.max(), orders=rows.count(), monetary_fen=rows.net_fen.sum()
        )

    def _lifecycle(self, name: str) -> ir.Table:
        people, buyers = self.people, self._buyers()
        joined = people.left_join(buyers, people.customer_id == buyers.customer_id)
        first_seen = ibis.coalesce(joined.first_seen_at, joined.created_at)
        stage = lifecycle_stage(first_seen, joined.last_paid_at, self.as_of, self.thresholds)
        return joined.select("customer_id", **{name: stage})

    def _rfm(self, name: str) -> ir.Table:
        buyers = self._buyers()
        buyers = buyers.filter(buyers.customer_id.isin(self.people.customer_id))
        return rfm_layers(buyers, self.as_of, name)


def _performed_key(rule: Performed) -> Hashable:
    total_path = rule.total.path if rule.total else None
    return ("performed", rule.event, rule.within_days, rule.where, total_path)


def _holds_at(comparison: Comparison, value: float) -> bool:
    return all(COMPARE[op](value, bound) for op, bound in comparison.bounds)


def _none_of(count: Comparison) -> bool:
    """Holds for 0 and for no count of 1 or more (an upper bound 1 already breaks)."""
    return _holds_at(count, 0) and any(
        op in ("eq", "lt", "lte") and not COMPARE[op](1, bound) for op, bound in count.bounds
    )


def _any_of(count: Comparison) -> bool:
    """Holds for every count of 1 or more and not for 0 (lower bounds only)."""
    return (
        all(op in ("gt", "gte") for op, _ in count.bounds)
        and _holds_at(count, 1)
        and not _holds_at(count, 0)
    )


def _canonical(rows: ir.Table, customer_map: ir.Table) -> ir.Table:
    """Rows re-keyed by the customer each id belongs to today (merges followed)."""
    joined = rows.left_join(customer_map, rows.customer_id == customer_map.customer_id)
    canonical = ibis.coalesce(customer_map.canonical_id, rows.customer_id)
    others = [rows[name] for name in rows.columns if name != "customer_id"]
    return joined.select(canonical.name("customer_id"), *others)


def _combine(join: Callable, parts: list[Predicate]) -> Predicate:
    return lambda t: reduce(join, (part(t) for part in parts))


def _compare(value: ir.NumericValue, comparison: Comparison) -> ir.BooleanValue:
    return reduce(operator.and_, (COMPARE[op](value, bound) for op, bound in comparison.bounds))


def _equals(node: JsonAt, value) -> ir.BooleanValue:
    """Equal and of the same JSON type (1 and 1.0 are equal numbers; "1" is not a number)."""
    if isinstance(value, bool):
        found = node.boolean == value
    elif isinstance(value, str):
        found = node.string == value
    else:
        found = node.number == float(value)
    return found.fill_null(False)


def _among(node: JsonAt, values: tuple) -> ir.BooleanValue:
    flags = [v for v in values if isinstance(v, bool)]
    texts = [v for v in values if isinstance(v, str)]
    numbers = [float(v) for v in values if not isinstance(v, bool | str)]
    found = [
        side.isin(kept)
        for side, kept in ((node.boolean, flags), (node.string, texts), (node.number, numbers))
        if kept
    ]
    return reduce(operator.or_, found).fill_null(False)


def _ordered(compare: Callable) -> Callable[[JsonAt, object], ir.BooleanValue]:
    """gt/gte/lt/lte: numbers against numbers, strings against strings (code point order)."""

    def test(node: JsonAt, value) -> ir.BooleanValue:
        side = node.string if isinstance(value, str) else node.number
        return compare(side, value).fill_null(False)

    return test


def _contains(node: JsonAt, value: str) -> ir.BooleanValue:
    return node.string.contains(value).fill_null(False)


def _exists(node: JsonAt, value: bool) -> ir.BooleanValue:
    """Present and not JSON null."""
    return node.present if value else ~node.present


VALUE_TESTS: dict[str, Callable[[JsonAt, Any], ir.BooleanValue]] = {
    "eq": _equals,
    "ne": lambda node, value: ~_equals(node, value),
    "in": _among,
    "not_in": lambda node, values: ~_among(node, values),
    "gt": _ordered(operator.gt),
    "gte": _ordered(operator.ge),
    "lt": _ordered(operator.lt),
    "lte": _ordered(operator.le),
    "contains": _contains,
    "exists": _exists,
}
