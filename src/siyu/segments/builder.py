"""The console's rule builder: dropdown conditions (form fields) → a segment rule, no JSON typed."""

from __future__ import annotations

from collections.abc import Mapping

from siyu.core.i18n import N_

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
    if days.isdigit() and int(days) > 0:
        rule["within_days"] = int(days)
    if kind == "not_performed":
        rule["count"] = {"eq": 0}
    elif kind == "spent":
        rule["sum"] = {"property": "revenue", field("op") or "gte": _number(field("n")) or 0}
    else:
        count = field("n")
        rule["count"] = {field("op") or "gte": int(count) if count.isdigit() else 1}
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
