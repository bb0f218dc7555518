"""The console's rule builder: dropdown conditions (form fields) → a segment rule, no JSON typed."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from siyu.core.errors import InvalidInput
from siyu.core.i18n import N_
from siyu.segments.rules import parse_rule

ROWS = 6
# (kind, label): what each row can say.
KINDS = (
    ("performed", N_("did the event")),
    ("not_performed", N_("did not do the event")),
    ("spent", N_("spent (order revenue)")),
    ("attribute", N_("profile attribute")),
    ("tag", N_("has the tag")),
    ("no_tag", N_("does not have the tag")),
    ("lifecycle", N_("lifecycle stage is")),
    ("rfm", N_("RFM layer is")),
    ("first_touchpoint", N_("first touchpoint is")),
    ("segment", N_("is in the segment")),
)
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
COMMON_EVENTS = (
    "Order Completed",
    "Product Viewed",
    "Added to Cart",
    "Code Scanned",
    "QR Code Scanned",
    "Coupon Applied",
    "Page Viewed",
    "Group Joined",
)


ROW_PATH = re.compile(r"\$\.(?:and|or)\[(\d+)\]")


def rule_of(form: Mapping[str, str]) -> Any:
    """The rule a builder form holds: its rows, or its JSON text when the rule was shown as JSON
    (None when nothing is filled in)."""
    if form.get("mode") != "json":
        return rule_from_form(form)
    text = (form.get("rule_json") or "").strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError as error:
        raise InvalidInput(
            N_("the rule is not valid JSON: ") + str(error), field="rule_json"
        ) from None


def rule_from_form(form: Mapping[str, str]) -> dict | None:
    """The rule the rows describe (None when no row is filled in)."""
    conditions = [c for i in range(ROWS) if (c := _condition(form, i)) is not None]
    if not conditions:
        return None
    if len(conditions) == 1:
        return conditions[0]
    return {"or" if form.get("combine") == "or" else "and": conditions}


def _condition(form: Mapping[str, str], i: int) -> dict | None:
    kind = form.get(f"kind_{i}", "")

    def field(name: str) -> str:
        return (form.get(f"{name}_{i}") or "").strip()

    if kind in ("performed", "not_performed", "spent"):
        return _performed(kind, field("event") or "Order Completed", field("days"), field)
    if kind == "attribute" and field("attr"):
        return _attribute(field("attr"), field("aop") or "eq", field("value"))
    if kind in ("tag", "no_tag") and field("tag"):
        has = {"tag": field("tag")}
        return has if kind == "tag" else {"not": has}
    if kind in ("lifecycle", "rfm") and field(kind):
        return {kind: {"in": [field(kind)]}}
    if kind == "first_touchpoint" and field("value"):
        return {kind: {"in": _items(field("value"))}}
    if kind == "segment" and field("segment"):
        return {"segment": field("segment")}
    return None


def _performed(kind: str, event: str, days: str, field) -> dict:
    rule: dict = {"event": "Order Completed" if kind == "spent" else event}
    if days.isdecimal() and int(days) > 0:
        rule["within_days"] = int(days)
    if kind == "not_performed":
        rule["count"] = {"eq": 0}
    elif kind == "spent":
        rule["sum"] = {"property": "revenue", field("op") or "gte": _number(field("n")) or 0}
    else:
        count = field("n")
        rule["count"] = {field("op") or "gte": int(count) if count.isdecimal() else 1}
    return rule


def _attribute(name: str, op: str, value: str) -> dict:
    if op == "exists":
        return {"attribute": name, "op": "exists", "value": True}
    if op == "in":
        return {"attribute": name, "op": "in", "value": [_scalar(v) for v in _items(value)]}
    return {"attribute": name, "op": op, "value": value if op == "contains" else _scalar(value)}


def _items(text: str) -> list[str]:
    return [part.strip() for part in text.replace("，", ",").split(",") if part.strip()]


def _number(text: str) -> int | float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number.is_integer() else number


def _scalar(text: str):
    number = _number(text)
    return text if number is None else number


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
    used = [i for i in range(ROWS) if _condition(form, i) is not None]
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
    for kind in ("lifecycle", "rfm", "first_touchpoint"):
        values = node.get(kind, {}).get("in") if isinstance(node.get(kind), dict) else None
        if keys == {kind} and isinstance(values, list) and values:
            text = ", ".join(str(v) for v in values)
            return {"kind": kind, "value" if kind == "first_touchpoint" else kind: text}
    return None


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
