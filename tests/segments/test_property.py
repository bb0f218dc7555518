"""Random rules over random lakes: the compiled segment equals the plain-Python reference."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from siyu.core.lake import open_lake
from siyu.segments import evaluation
from siyu.segments.rules import RFM_LAYERS, parse_rule
from tests.segments.factories import SHANGHAI, LakeRows, write_lake
from tests.segments.reference import Reference

AS_OF = datetime(2026, 11, 22, tzinfo=SHANGHAI)
CUSTOMER_IDS = range(1, 7)
EVENT_NAMES = ("A", "B")
TAGS = ("vip", "new", "团购")
TOUCHPOINTS = ("qr1", "qr2", "store")
SEGMENTS = {
    "recent_a": {"event": "A", "within_days": 30},
    "vip_or_recent_a": {"or": [{"segment": "recent_a"}, {"tag": "vip"}]},
}

# The lake's moments are drawn for each rule: exactly on its windows' starts, on the lifecycle
# thresholds and on as_of, or a microsecond or half a day off them.
THRESHOLD_DAYS = (0, 30, 90, 180, 400)
NUDGES = st.sampled_from(
    [
        timedelta(0),
        timedelta(0),
        timedelta(0),
        timedelta(microseconds=1),
        timedelta(microseconds=-1),
        timedelta(hours=-12),
    ]
)
SCALARS = st.one_of(
    st.sampled_from(["上海", "北京", "shanghai", "", "Shanghai Road"]),
    st.integers(-2, 40),
    st.sampled_from([0.5, 2.5, 30.0]),
    st.booleans(),
)
JSON_VALUES = st.one_of(SCALARS, st.none(), st.lists(SCALARS, max_size=2))


def moments(days: list[int]) -> st.SearchStrategy[datetime]:
    return st.builds(
        lambda d, nudge: AS_OF - timedelta(days=d) + nudge, st.sampled_from(days), NUDGES
    )


def event_moments(rule: dict) -> st.SearchStrategy[datetime]:
    """Mostly on the rule's own window starts (and as_of), else on the thresholds."""
    own = moments(sorted(windows(rule) | {0}))
    return st.one_of(own, own, own, moments(list(THRESHOLD_DAYS)))


def windows(node) -> set[int]:
    """Every within_days in a rule and in the segments it names."""
    if isinstance(node, list):
        return set().union(*(windows(item) for item in node))
    if not isinstance(node, dict):
        return set()
    found = {node["within_days"]} if "within_days" in node else set()
    if "segment" in node:
        found |= windows(SEGMENTS[node["segment"]])
    return found.union(*(windows(value) for value in node.values()))


@st.composite
def lakes(draw, rule: dict) -> LakeRows:
    rows, when = LakeRows(), moments(list(THRESHOLD_DAYS))
    for cid in CUSTOMER_IDS:
        add_customer(draw, rows, cid, when)
    for _ in range(draw(st.integers(2, 16))):
        properties = draw(st.dictionaries(st.sampled_from(["amount", "sku"]), JSON_VALUES))
        name, at = draw(st.sampled_from(EVENT_NAMES)), draw(event_moments(rule))
        rows.event(draw(st.integers(1, 7)), name, at, **properties)
    for _ in range(draw(st.integers(0, 6))):
        amount = draw(st.integers(0, 5000))
        rows.order(
            draw(st.integers(1, 6)),
            draw(st.one_of(when, st.none())),
            amount,
            status=draw(st.sampled_from(["completed", "partially_refunded", "refunded"])),
            refunded_fen=draw(st.integers(0, amount)),
        )
    if draw(st.booleans()):
        rows.customer_tags = []
        for _ in range(draw(st.integers(0, 4))):
            rows.tag(draw(st.integers(1, 6)), draw(st.sampled_from(TAGS)))
    return rows


def add_customer(draw, rows: LakeRows, cid: int, when: st.SearchStrategy[datetime]) -> None:
    """Customer 1 is canonical; a later one is sometimes merged into an earlier one."""
    is_merged = cid > 1 and draw(st.sampled_from([False, False, True]))
    rows.customer(
        cid,
        merged_into=draw(st.sampled_from(range(1, cid))) if is_merged else None,
        created_at=draw(when),
        first_seen_at=draw(st.one_of(st.none(), when)),
        first_touchpoint=draw(st.sampled_from((None, *TOUCHPOINTS))),
        last_touchpoint=draw(st.sampled_from((None, *TOUCHPOINTS))),
        owner_id=draw(st.sampled_from([None, 1, 2])),
        store_id=draw(st.sampled_from([None, 10, 11])),
        traits=draw(traits()),
    )
    if draw(st.booleans()):
        rows.user_id(cid, f"u{cid}")


def traits() -> st.SearchStrategy[dict]:
    flat = st.dictionaries(st.sampled_from(["city", "age", "vip"]), JSON_VALUES, max_size=3)
    nested = st.fixed_dictionaries({"address": st.dictionaries(st.just("city"), JSON_VALUES)})
    return st.one_of(flat, st.builds(lambda a, b: {**a, **b}, flat, nested))


def value_for(op: str) -> st.SearchStrategy:
    if op in ("in", "not_in"):
        return st.lists(SCALARS, min_size=1, max_size=3)
    if op in ("gt", "gte", "lt", "lte"):
        return st.one_of(st.integers(-1, 35), st.sampled_from([2.5, "北京", "shanghai", "M"]))
    if op == "contains":
        return st.sampled_from(["海", "shang", "Road"])
    if op == "exists":
        return st.booleans()
    return SCALARS


@st.composite
def value_checks(draw, names: tuple[str, ...]) -> tuple[str, str, object]:
    op = draw(
        st.sampled_from(
            ["eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "contains", "exists"]
        )
    )
    return draw(st.sampled_from(names)), op, draw(value_for(op))


@st.composite
def attributes(draw) -> dict:
    name, op, value = draw(value_checks(("city", "age", "vip", "address.city", "missing")))
    rule = {"attribute": name, "op": op, "value": value}
    if op == "exists" and draw(st.booleans()):
        del rule["value"]
    return rule


@st.composite
def wheres(draw) -> dict:
    where = {}
    for name, op, value in draw(st.lists(value_checks(("amount", "sku")), min_size=1, max_size=2)):
        is_short = op in ("eq", "in") and draw(st.booleans())  # "sku": "x" and "sku": [..]
        where[name] = value if is_short else {op: value}
    return where


OFTEN = st.sampled_from([True, True, False])
SOMETIMES = st.sampled_from([False, False, True])
BOUNDS = st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte"])


@st.composite
def events(draw) -> dict:
    rule: dict = {"event": draw(st.sampled_from(EVENT_NAMES))}
    if draw(OFTEN):
        rule["within_days"] = draw(st.sampled_from([1, 7, 30, 90]))
    if draw(st.booleans()):
        rule["count"] = draw(st.dictionaries(BOUNDS, st.integers(0, 3), min_size=1, max_size=2))
    if draw(SOMETIMES):
        rule["where"] = draw(wheres())
    if draw(SOMETIMES):
        bounds = draw(st.dictionaries(BOUNDS, st.sampled_from([0, 2.5, 5, 10.5]), min_size=1))
        rule["sum"] = {"property": "amount", **bounds}
    return rule


@st.composite
def sequences(draw) -> dict:
    step = st.one_of(
        st.sampled_from(EVENT_NAMES),
        st.builds(lambda e, w: {"event": e, "where": w}, st.sampled_from(EVENT_NAMES), wheres()),
    )
    rule: dict = {"sequence": draw(st.lists(step, min_size=2, max_size=3))}
    if draw(st.booleans()):
        rule["within_days"] = draw(st.sampled_from([1, 7, 30]))
    return rule


def choices(kind: str, values) -> st.SearchStrategy[dict]:
    return st.lists(st.sampled_from(values), min_size=1, max_size=3, unique=True).map(
        lambda picked: {kind: {"in": picked}}
    )


# Events, sequences, lifecycle and RFM carry the most logic: they are drawn more often.
LEAVES = st.one_of(
    attributes(),
    st.sampled_from(TAGS).map(lambda tag: {"tag": tag}),
    events(),
    events(),
    events(),
    sequences(),
    sequences(),
    choices("first_touchpoint", TOUCHPOINTS),
    choices("last_touchpoint", TOUCHPOINTS),
    choices("owner", [1, 2, 3]),
    choices("store", [10, 11]),
    choices("lifecycle", ["new", "active", "silent", "churned"]),
    choices("lifecycle", ["new", "active", "silent", "churned"]),
    choices("rfm", RFM_LAYERS),
    choices("rfm", RFM_LAYERS),
    st.sampled_from(sorted(SEGMENTS)).map(lambda key: {"segment": key}),
)
RULES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda rules: {"and": rules}),
        st.lists(inner, min_size=1, max_size=3).map(lambda rules: {"or": rules}),
        inner.map(lambda rule: {"not": rule}),
    ),
    max_leaves=4,
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_compiled_segment_matches_the_reference(data: st.DataObject) -> None:
    rule = data.draw(RULES, label="rule")
    rows = data.draw(lakes(rule), label="lake")
    parse_rule(rule, SEGMENTS.get)  # every generated rule is valid
    with tempfile.TemporaryDirectory() as folder:
        root = write_lake(Path(folder), rows)
        found = evaluation.members(rule, as_of=AS_OF, resolve=SEGMENTS.get, lake=open_lake(folder))
        compiled = {member.customer_id for member in found}
        expected = Reference(root, AS_OF, SEGMENTS).members(rule)
        event(f"members: {min(len(expected), 3)}{'+' if len(expected) >= 3 else ''}")
        assert compiled == expected


@st.composite
def did_not(draw) -> dict:
    """ "Did not": a count that only 0 meets, or not having performed (at least once)."""
    rule: dict = {"event": draw(st.sampled_from(EVENT_NAMES))}
    if draw(OFTEN):
        rule["within_days"] = draw(st.sampled_from([1, 7, 30, 90]))
    if draw(SOMETIMES):
        rule["where"] = draw(wheres())
    if draw(st.booleans()):
        return {**rule, "count": draw(st.sampled_from([{"eq": 0}, {"lt": 1}, {"lte": 0}]))}
    if draw(st.booleans()):
        rule["count"] = draw(st.sampled_from([{"gte": 1}, {"gt": 0}]))
    return {"not": rule}


# A conjunction at the top, as operators build most segments: the compiler inner-joins what a
# member must have done and anti-joins what they must not have, so these shapes get their own run.
CONJUNCTIONS = st.lists(st.one_of(LEAVES, did_not(), did_not()), min_size=1, max_size=4).map(
    lambda rules: {"and": rules}
)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_compiled_conjunction_matches_the_reference(data: st.DataObject) -> None:
    rule = data.draw(st.one_of(CONJUNCTIONS, did_not()), label="rule")
    rows = data.draw(lakes(rule), label="lake")
    parse_rule(rule, SEGMENTS.get)
    with tempfile.TemporaryDirectory() as folder:
        root = write_lake(Path(folder), rows)
        found = evaluation.members(rule, as_of=AS_OF, resolve=SEGMENTS.get, lake=open_lake(folder))
        expected = Reference(root, AS_OF, SEGMENTS).members(rule)
        assert {member.customer_id for member in found} == expected
