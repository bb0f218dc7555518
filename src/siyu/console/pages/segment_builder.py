"""The console's rule builder: dropdown conditions (form fields) → a segment rule, no JSON typed."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any

from annotated_types import Ge, Le
from pydantic import BaseModel, StringConstraints
from starlette.datastructures import FormData

from siyu.core.errors import InvalidInput
from siyu.core.forms import FieldError, one_of, read_form
from siyu.core.i18n import N_
from siyu.core.limits import MAX_ROW_ID, Text, Text64, Text200
from siyu.segments.rules import LIFECYCLE_STAGES, MAX_DAYS, RFM_LAYERS, parse_rule

ROWS = 6
# (kind, label): what each row can say.
KINDS = (
    ("performed", N_("did the event")),
    ("not_performed", N_("did not do the event")),
    ("sequence", N_("did the events in order")),
    ("spent", N_("spent (order revenue)")),
    ("attribute", N_("profile attribute")),
    ("tag", N_("has the tag")),
    ("no_tag", N_("does not have the tag")),
    ("lifecycle", N_("lifecycle stage is")),
    ("rfm", N_("RFM layer is")),
    ("first_touchpoint", N_("first touchpoint is")),
    ("last_touchpoint", N_("last touchpoint is")),
    ("store", N_("store is")),
    ("owner", N_("guide (owner) is")),
    ("segment", N_("is in the segment")),
)
TOUCHPOINT_KINDS = ("first_touchpoint", "last_touchpoint")
GROUP = "group:"  # a touchpoint picker's value for a type of touchpoint ("any store code")
COUNT_OPS = (("gte", "≥"), ("lte", "≤"), ("eq", "="))
ATTRIBUTE_OPS = (
    ("eq", "="),
    ("ne", "≠"),
    ("gte", "≥"),
    ("lte", "≤"),
    ("contains", N_("contains")),
    ("in", N_("one of (a, b)")),
    ("exists", N_("is set")),
)


ROW_PATH = re.compile(r"\$\.(?:and|or)\[(\d+)\]")
ROW_FIELD = re.compile(r"[a-z]+_(\d+)")  # a row's field: n_1 is row 2's number

Event = Annotated[Text200, StringConstraints(min_length=1)]
CountOp = Annotated[str, one_of(dict(COUNT_OPS))]
Times = Annotated[int, Ge(0), Le(MAX_ROW_ID)]
Yuan = Annotated[Decimal, Ge(0), Le(10**12)]
Days = Annotated[int, Ge(1), Le(MAX_DAYS)]


class Performed(BaseModel):
    """Did the event (做过), at least / at most / exactly n times, within the last days."""

    event: Event = "Order Completed"
    op: CountOp = "gte"
    n: Times = 1
    days: Days | None = None

    def condition(self, kind: str) -> dict:
        if kind == "not_performed":
            return _within({"event": self.event, "count": {"eq": 0}}, self.days)
        return _within({"event": self.event, "count": {self.op: self.n}}, self.days)


class Spent(BaseModel):
    """Spent (order revenue, yuan) within the last days."""

    op: CountOp = "gte"
    n: Yuan = Decimal(0)
    days: Days | None = None

    def condition(self, kind: str) -> dict:
        total = {"property": "revenue", self.op: _plain(self.n)}
        return _within({"event": "Order Completed", "sum": total}, self.days)


class Attribute(BaseModel):
    """A profile attribute compared with a value (a row without a name says nothing)."""

    attr: Text64 = ""
    aop: Annotated[str, one_of(dict(ATTRIBUTE_OPS))] = "eq"
    value: Text = ""

    def condition(self, kind: str) -> dict | None:
        return _attribute(self.attr.strip(), self.aop, self.value.strip()) if self.attr else None


class InOrder(BaseModel):
    """Did two or three events in this order, the last within the days of the first."""

    event: Event = "Product Viewed"
    then: Event = "Order Completed"
    then2: Text200 = ""
    days: Days | None = None

    def condition(self, kind: str) -> dict:
        steps = [self.event, self.then] + ([self.then2] if self.then2.strip() else [])
        return _within({"sequence": steps}, self.days)


Ids = Annotated[str, StringConstraints(max_length=1000, pattern=r"^[\d,， ]*$")]


class Chosen(BaseModel):
    """A row that names one thing: a tag, a stage, a layer, a touchpoint (or a type of them),
    a store, a guide or a segment."""

    tag: Text64 = ""
    lifecycle: Annotated[str, one_of(LIFECYCLE_STAGES)] | None = None
    rfm: Annotated[str, one_of(RFM_LAYERS)] | None = None
    tp: Text = ""
    store: Ids = ""
    owner: Ids = ""
    segment: Text64 = ""

    def condition(self, kind: str) -> dict | None:
        if kind in ("tag", "no_tag") and self.tag.strip():
            has = {"tag": self.tag.strip()}
            return has if kind == "tag" else {"not": has}
        if kind in ("lifecycle", "rfm") and getattr(self, kind):
            return {kind: {"in": [getattr(self, kind)]}}
        if kind in TOUCHPOINT_KINDS and _items(self.tp):
            return _touchpoints(kind, _items(self.tp))
        if kind in ("store", "owner") and _items(getattr(self, kind)):
            return {kind: {"in": [int(v) for v in _items(getattr(self, kind))]}}
        if kind == "segment" and self.segment.strip():
            return {"segment": self.segment.strip()}
        return None


def _touchpoints(kind: str, chosen: list[str]) -> dict:
    groups = [value.removeprefix(GROUP) for value in chosen if value.startswith(GROUP)]
    if groups and len(groups) == len(chosen):
        return {kind: {"in_group": groups}}
    return {kind: {"in": chosen}}


# The fields each kind of row shows, validated as its model; the others are hidden and ignored.
ROW_FORMS: dict[
    str, tuple[type[Performed | InOrder | Spent | Attribute | Chosen], tuple[str, ...]]
] = {
    "performed": (Performed, ("event", "op", "n", "days")),
    "not_performed": (Performed, ("event", "days")),
    "sequence": (InOrder, ("event", "then", "then2", "days")),
    "spent": (Spent, ("op", "n", "days")),
    "attribute": (Attribute, ("attr", "aop", "value")),
    "tag": (Chosen, ("tag",)),
    "no_tag": (Chosen, ("tag",)),
    "lifecycle": (Chosen, ("lifecycle",)),
    "rfm": (Chosen, ("rfm",)),
    "first_touchpoint": (Chosen, ("tp",)),
    "last_touchpoint": (Chosen, ("tp",)),
    "store": (Chosen, ("store",)),
    "owner": (Chosen, ("owner",)),
    "segment": (Chosen, ("segment",)),
}


def read_rule(form: Mapping[str, str]) -> tuple[Any, dict[str, FieldError]]:
    """The rule a builder form holds (None when nothing is filled in) and what is wrong with
    its fields, by field name (`n_1`, `rule_json`): its rows, or its JSON text when the rule is
    shown as JSON."""
    if form.get("mode") == "json":
        return _json_rule(form.get("rule_json") or "")
    return _rows_rule(form)


def rule_from_form(form: Mapping[str, str]) -> dict | None:
    """The rule the rows describe (None when no row is filled in or a field is not valid)."""
    return _rows_rule(form)[0]


def row_of_field(name: str) -> int | None:
    """The row (from 1) a field belongs to (`n_1` → 2), None for the form's own fields."""
    found = ROW_FIELD.fullmatch(name)
    return int(found[1]) + 1 if found else None


def rows_in_error(errors: Mapping[str, FieldError]) -> set[int]:
    """The rows (from 1) whose fields have an error."""
    return {row for name in errors if (row := row_of_field(name)) is not None}


def _rows_rule(form: Mapping[str, str]) -> tuple[dict | None, dict[str, FieldError]]:
    conditions, errors = _conditions(form)
    combine = form.get("combine") or "and"
    if combine not in ("and", "or"):
        errors["combine"] = FieldError(N_("choose one of the listed values"))
    if errors or not conditions:
        return None, errors
    return (conditions[0] if len(conditions) == 1 else {combine: conditions}), errors


def _json_rule(text: str) -> tuple[Any, dict[str, FieldError]]:
    if not text.strip():
        return None, {}
    try:
        return json.loads(text), {}
    except ValueError as error:
        problem = FieldError(N_("the rule is not valid JSON: %(reason)s"), {"reason": str(error)})
        return None, {"rule_json": problem}


def _conditions(form: Mapping[str, str]) -> tuple[list[dict], dict[str, FieldError]]:
    conditions: list[dict] = []
    errors: dict[str, FieldError] = {}
    for i in range(ROWS):
        condition, problems = _condition(form, i)
        errors |= problems
        if condition is not None:
            conditions.append(condition)
    return conditions, errors


def _condition(form: Mapping[str, str], i: int) -> tuple[dict | None, dict[str, FieldError]]:
    """Row i's condition (None when it says nothing), or the errors of its fields."""
    kind = form.get(f"kind_{i}") or ""
    if not kind:
        return None, {}
    if kind not in ROW_FORMS:
        return None, {f"kind_{i}": FieldError(N_("choose one of the listed values"))}
    model, names = ROW_FORMS[kind]
    row = FormData([(name, form[f"{name}_{i}"]) for name in names if f"{name}_{i}" in form])
    sent = read_form(model, row)
    if sent.data is None:
        return None, {f"{name}_{i}": problem for name, problem in sent.errors.items()}
    return sent.data.condition(kind), {}


def _within(rule: dict, days: int | None) -> dict:
    return {**rule, "within_days": days} if days else rule


def _plain(amount: Decimal) -> int | float:
    """A number as the rule's JSON holds it."""
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def _attribute(name: str, op: str, value: str) -> dict:
    if op == "exists":
        return {"attribute": name, "op": "exists", "value": True}
    if op == "in":
        return {"attribute": name, "op": "in", "value": [_scalar(v) for v in _items(value)]}
    return {"attribute": name, "op": op, "value": value if op == "contains" else _scalar(value)}


def _items(text: str) -> list[str]:
    return [part.strip() for part in text.replace("，", ",").split(",") if part.strip()]


def _scalar(text: str) -> str | int | float:
    """An attribute's value as typed: a number when it reads as one, else the text."""
    try:
        number = float(text)
    except ValueError:
        return text
    if not math.isfinite(number):
        return text
    return int(number) if number.is_integer() else number


def form_from_rule(rule: Any) -> dict[str, str] | None:
    """The rows that say exactly this rule, or None when the builder cannot (a nested group, a
    `where`, a sequence, two lifecycle stages in one condition…): such a rule is edited as JSON."""
    if not isinstance(rule, dict):
        return None
    combine, conditions = "and", [rule]
    for word in ("and", "or"):
        if set(rule) == {word} and isinstance(rule[word], list):
            combine, conditions = word, rule[word]
    if not conditions or len(conditions) > ROWS:
        return None
    form = {"combine": combine}
    for i, condition in enumerate(conditions):
        row = _row(condition)
        if row is None:
            return None
        form.update({f"{name}_{i}": value for name, value in row.items()})
    return form if _same(rule_from_form(form), rule) else None


def row_of(form: Mapping[str, str], path: str) -> int | None:
    """The row (from 1) that a bad node's path (`$.and[1].count.gte`) points into."""
    used = [i for i in range(ROWS) if _condition(form, i)[0] is not None]
    if form.get("mode") == "json" or not used or not path.startswith("$"):
        return None
    if len(used) == 1:
        return used[0] + 1
    found = ROW_PATH.match(path)
    if found and int(found[1]) < len(used):
        return used[int(found[1])] + 1
    return None


def _row(node: Any) -> dict[str, str] | None:
    """One condition as a row's fields (unchecked: form_from_rule compares the round trip)."""
    if not isinstance(node, dict):
        return None
    keys = set(node)
    if "event" in keys:
        return _event_row(node)
    if "attribute" in keys:
        return _attribute_row(node)
    if keys == {"tag"}:
        return {"kind": "tag", "tag": str(node["tag"])}
    inner = node.get("not")
    if keys == {"not"} and isinstance(inner, dict) and set(inner) == {"tag"}:
        return {"kind": "no_tag", "tag": str(inner["tag"])}
    if keys == {"segment"}:
        return {"kind": "segment", "segment": str(node["segment"])}
    if "sequence" in keys:
        return _sequence_row(node)
    return _chosen_row(node)


def _chosen_row(node: dict) -> dict[str, str] | None:
    """A lifecycle, RFM, touchpoint, store or guide condition as its row."""
    if len(node) != 1:
        return None
    ((kind, body),) = node.items()
    if kind not in ("lifecycle", "rfm", "store", "owner", *TOUCHPOINT_KINDS):
        return None
    if kind in TOUCHPOINT_KINDS and isinstance(body, dict) and "in_group" in body:
        groups = body.get("in_group")
        values = [f"{GROUP}{g}" for g in groups] if isinstance(groups, list) else None
    else:
        values = body.get("in") if isinstance(body, dict) else None
    if not isinstance(values, list) or not values:
        return None
    field = "tp" if kind in TOUCHPOINT_KINDS else kind
    return {"kind": kind, field: ", ".join(str(v) for v in values)}


def _sequence_row(node: dict) -> dict[str, str] | None:
    steps, days = node.get("sequence"), node.get("within_days")
    if not isinstance(steps, list) or not 2 <= len(steps) <= 3:
        return None
    if not all(isinstance(step, str) for step in steps):
        return None  # a step with property filters: JSON
    row = {"kind": "sequence", "event": steps[0], "then": steps[1], "then2": ""}
    if len(steps) == 3:
        row["then2"] = steps[2]
    return row | {"days": "" if days is None else str(days)}


def _event_row(node: dict) -> dict[str, str] | None:
    days = node.get("within_days")
    row = {"event": str(node["event"]), "days": "" if days is None else str(days)}
    if "sum" in node:
        total = node["sum"] if isinstance(node["sum"], dict) else {}
        bounds = [(op, n) for op, n in total.items() if op != "property"]
        kind = "spent"
    else:
        count = node.get("count", {"gte": 1})
        bounds = list(count.items()) if isinstance(count, dict) else []
        kind = "not_performed" if bounds == [("eq", 0)] else "performed"
    if len(bounds) != 1 or bounds[0][0] not in dict(COUNT_OPS):
        return None
    ((op, n),) = bounds
    return {**row, "kind": kind, "op": str(op), "n": _text_of(n)}


def _attribute_row(node: dict) -> dict[str, str] | None:
    op, value = node.get("op"), node.get("value")
    if op not in dict(ATTRIBUTE_OPS):
        return None
    if op == "in" and isinstance(value, list):
        text = ", ".join(_text_of(v) for v in value)
    else:
        text = "" if op == "exists" else _text_of(value)
    return {"kind": "attribute", "attr": str(node["attribute"]), "aop": str(op), "value": text}


def _text_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _same(built: Any, rule: Any) -> bool:
    """Whether two rules say the same (compared as parsed, so defaults written out still match)."""
    stand_in = {"tag": "-"}
    try:
        return parse_rule(built, lambda _: stand_in) == parse_rule(rule, lambda _: stand_in)
    except InvalidInput:
        return False


# Words the pages show for stored values (schedules, refresh states, stays, stages, layers).
SHOWN_VALUES = (
    N_("manual"),
    N_("hourly"),
    N_("daily"),
    N_("queued"),
    N_("running"),
    N_("done"),
    N_("failed"),
    N_("entered"),
    N_("exited"),
    N_("added"),
    N_("removed"),
    N_("important_value"),
    N_("important_development"),
    N_("important_retention"),
    N_("important_recovery"),
    N_("general_value"),
    N_("general_development"),
    N_("general_retention"),
    N_("general_recovery"),
)
STAGE_LABELS = {
    "new": N_("stage: new"),
    "active": N_("stage: active"),
    "silent": N_("stage: silent"),
    "churned": N_("stage: churned"),
}
