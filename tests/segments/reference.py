"""A plain-Python segment evaluator for the tests: loops over the lake's rows, written from
docs/segments.md alone and sharing no code with siyu.segments.compile."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path

import pyarrow.parquet as pq

MISSING = object()
COUNTED = {"completed", "partially_refunded"}
NEW_DAYS, ACTIVE_DAYS, CHURNED_DAYS = 30, 90, 180
LAYER_NAMES = {
    (True, True, True): "important_value",
    (True, False, True): "important_development",
    (False, True, True): "important_retention",
    (False, False, True): "important_recovery",
    (True, True, False): "general_value",
    (True, False, False): "general_development",
    (False, True, False): "general_retention",
    (False, False, False): "general_recovery",
}


def read_rows(root: Path, name: str) -> list[dict]:
    pattern = "date=*/*.parquet" if name == "events" else "*.parquet"
    return [row for path in sorted((root / name).glob(pattern)) for row in _rows(path)]


def _rows(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()


class Reference:
    def __init__(self, root: Path, as_of: datetime, segments: dict[str, dict] | None = None):
        self.as_of = as_of
        self.segments = segments or {}
        self.canonical = {
            r["customer_id"]: r["canonical_id"] for r in read_rows(root, "customer_map")
        }
        self.people = {
            r["customer_id"]: r for r in read_rows(root, "customers") if r["merged_into_id"] is None
        }
        self.events = defaultdict(list)
        for event in read_rows(root, "events"):
            if event["customer_id"] is not None and event["timestamp"] <= as_of:
                self.events[self.owner_of(event["customer_id"])].append(event)
        self.tags = defaultdict(set)
        for row in read_rows(root, "customer_tags"):
            self.tags[self.owner_of(row["customer_id"])].add(row["tag"])
        self.orders = defaultdict(list)
        for order in read_rows(root, "orders"):
            paid = order["paid_at"]
            if paid is not None and paid <= as_of and order["status"] in COUNTED:
                self.orders[self.owner_of(order["customer_id"])].append(order)
        self.layers = self.rfm_layers()

    def owner_of(self, customer_id: int) -> int:
        return self.canonical.get(customer_id, customer_id)

    def members(self, rule: dict) -> set[int]:
        return {cid for cid in self.people if self.holds(rule, cid)}

    def holds(self, rule: dict, cid: int) -> bool:
        person = self.people[cid]
        if "and" in rule:
            return all(self.holds(r, cid) for r in rule["and"])
        if "or" in rule:
            return any(self.holds(r, cid) for r in rule["or"])
        if "not" in rule:
            return not self.holds(rule["not"], cid)
        if "attribute" in rule:
            found = lookup(json.loads(person["traits"]), rule["attribute"])
            return check(found, rule["op"], rule.get("value", True))
        if "tag" in rule:
            return rule["tag"] in self.tags[cid]
        if "event" in rule:
            return self.performed(rule, cid)
        if "sequence" in rule:
            return self.in_sequence(rule, cid)
        for field, column in (
            ("first_touchpoint", "first_touchpoint"),
            ("last_touchpoint", "last_touchpoint"),
            ("owner", "owner_id"),
            ("store", "store_id"),
        ):
            if field in rule:
                return person[column] is not None and person[column] in rule[field]["in"]
        if "lifecycle" in rule:
            return self.stage(cid) in rule["lifecycle"]["in"]
        if "rfm" in rule:
            return self.layers.get(cid) in rule["rfm"]["in"]
        if "segment" in rule:
            return self.holds(self.segments[rule["segment"]], cid)
        raise AssertionError(f"unknown rule {rule}")

    def performed(self, rule: dict, cid: int) -> bool:
        count, total = 0, 0.0
        for event in self.events[cid]:
            if event["event"] != rule["event"]:
                continue
            if "within_days" in rule and not self.within(event, rule["within_days"]):
                continue
            if not matches(json.loads(event["properties"]), rule.get("where", {})):
                continue
            count += 1
            if "sum" in rule:
                amount = lookup(json.loads(event["properties"]), rule["sum"]["property"])
                if is_number(amount):
                    total += float(amount)
        ok = bounded(count, rule.get("count", {"gte": 1}))
        if "sum" in rule:
            ok = ok and bounded(total, {k: v for k, v in rule["sum"].items() if k != "property"})
        return ok

    def within(self, event: dict, days: int) -> bool:
        return self.as_of - timedelta(days=days) < event["timestamp"] <= self.as_of

    def in_sequence(self, rule: dict, cid: int) -> bool:
        steps = [s if isinstance(s, dict) else {"event": s} for s in rule["sequence"]]
        options = [
            [
                e["timestamp"]
                for e in self.events[cid]
                if e["event"] == step["event"]
                and matches(json.loads(e["properties"]), step.get("where", {}))
            ]
            for step in steps
        ]
        span = timedelta(days=rule["within_days"]) if "within_days" in rule else None

        def extends(index: int, start: datetime, previous: datetime) -> bool:
            if index == len(options):
                return True
            return any(
                t > previous
                and (span is None or t <= start + span)
                and extends(index + 1, start, t)
                for t in options[index]
            )

        return any(extends(1, t, t) for t in options[0])

    def stage(self, cid: int) -> str | None:
        person = self.people[cid]
        first_seen = person["first_seen_at"] or person["created_at"]
        last = max((o["paid_at"] for o in self.orders[cid]), default=None)
        if self.as_of - timedelta(days=NEW_DAYS) < first_seen <= self.as_of:
            return "new"
        if last is not None:
            days_since = self.as_of - last
            if days_since < timedelta(days=ACTIVE_DAYS):
                return "active"
            if days_since <= timedelta(days=CHURNED_DAYS):
                return "silent"
            return "churned"
        if first_seen <= self.as_of - timedelta(days=NEW_DAYS):
            return "silent"
        return None

    def rfm_layers(self) -> dict[int, str]:
        scores = {}
        for cid in self.people:
            orders = self.orders[cid]
            if not orders:
                continue
            last = max(o["paid_at"] for o in orders).replace(microsecond=0)
            recency = (self.as_of - last) // timedelta(days=1)
            money = sum((o["amount_fen"] or 0) - (o["refunded_fen"] or 0) for o in orders)
            scores[cid] = (recency, len(orders), money)
        if not scores:
            return {}
        n = len(scores)
        mean = [Fraction(sum(s[i] for s in scores.values()), n) for i in range(3)]
        return {
            cid: LAYER_NAMES[(r <= mean[0], f >= mean[1], m >= mean[2])]
            for cid, (r, f, m) in scores.items()
        }


def lookup(document, name: str):
    for part in name.split("."):
        if not isinstance(document, dict) or part not in document:
            return MISSING
        document = document[part]
    return document


def is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def same(found, wanted) -> bool:
    if isinstance(wanted, bool):
        return isinstance(found, bool) and found == wanted
    if isinstance(wanted, str):
        return isinstance(found, str) and found == wanted
    return is_number(found) and float(found) == float(wanted)


def check(found, op: str, value) -> bool:
    if op == "eq":
        return same(found, value)
    if op == "ne":
        return not same(found, value)
    if op == "in":
        return any(same(found, v) for v in value)
    if op == "not_in":
        return not any(same(found, v) for v in value)
    if op == "contains":
        return isinstance(found, str) and value in found
    if op == "exists":
        return (found is not MISSING and found is not None) == value
    if isinstance(value, str):
        if not isinstance(found, str):
            return False
    elif not is_number(found):
        return False
    else:
        found = float(found)
    return {
        "gt": found > value,
        "gte": found >= value,
        "lt": found < value,
        "lte": found <= value,
    }[op]


def matches(properties: dict, where: dict) -> bool:
    for name, wanted in where.items():
        found = lookup(properties, name)
        if isinstance(wanted, list):
            ok = check(found, "in", wanted)
        elif isinstance(wanted, dict):
            ((op, value),) = wanted.items()
            ok = check(found, op, value)
        else:
            ok = check(found, "eq", wanted)
        if not ok:
            return False
    return True


def bounded(value, bounds: dict) -> bool:
    tests = {
        "eq": value == bounds.get("eq"),
        "ne": value != bounds.get("ne"),
        "gt": "gt" in bounds and value > bounds["gt"],
        "gte": "gte" in bounds and value >= bounds["gte"],
        "lt": "lt" in bounds and value < bounds["lt"],
        "lte": "lte" in bounds and value <= bounds["lte"],
    }
    return all(tests[op] for op in bounds)
