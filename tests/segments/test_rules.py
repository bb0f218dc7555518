"""Rule validation: a bad rule is refused with the JSON path of the bad node."""

from __future__ import annotations

import pytest

from siyu.core.errors import InvalidInput
from siyu.core.settings import reset_settings
from siyu.segments.rules import (
    And,
    Attribute,
    Comparison,
    InSegment,
    Named,
    Performed,
    RuleError,
    RuleLimits,
    RuleTooCostly,
    Sequence,
    Step,
    TouchpointGroupIn,
    ValueCheck,
    named_in,
    parse_rule,
)


def test_a_rule_parses_into_typed_conditions():
    rule = parse_rule(
        {
            "and": [
                {"attribute": "address.city", "op": "in", "value": ["上海", "北京"]},
                {"event": "Order Completed", "within_days": 30, "where": {"store": "S1"}},
                {"sequence": ["Product Viewed", {"event": "Order Completed"}], "within_days": 7},
            ]
        }
    )

    assert rule == And(
        (
            Attribute(ValueCheck(("address", "city"), "in", ("上海", "北京"))),
            Performed(
                "Order Completed",
                30,
                Comparison((("gte", 1),)),
                where=(ValueCheck(("store",), "eq", "S1"),),
            ),
            Sequence((Step("Product Viewed"), Step("Order Completed")), 7),
        )
    )


@pytest.mark.parametrize(
    ("rule", "error"),
    [
        (
            {"and": [{"tag": "a"}, {"tag": "b"}, {"event": "A", "count": {"gte": -1}}]},
            "$.and[2].count.gte: must be a non-negative integer",
        ),
        ({"event": "A", "count": {"gte": True}}, "$.count.gte: must be a non-negative integer"),
        ({"event": "A", "count": {"at_least": 1}}, "$.count.at_least: is not a bound"),
        ([{"tag": "vip"}], "$: must be an object (one condition)"),
        ({"or": []}, "$.or: must be a non-empty list of conditions"),
        ({"vip": True}, "$: unknown condition"),
        ({"tag": "vip", "event": "A"}, "$: one condition per object, found tag and event"),
        ({"event": "A", "within": 7}, "$.within: unknown field of 'event'"),
        ({"attribute": "city", "op": "like", "value": "x"}, "$.op: must be one of eq, ne"),
        ({"attribute": "city", "op": "eq"}, "$.value: is required for eq"),
        ({"attribute": "city", "op": "in", "value": "上海"}, "$.value: must be a non-empty list"),
        ({"attribute": "city", "op": "gt", "value": True}, "$.value: must be a number or a str"),
        ({"attribute": "city", "op": "eq", "value": None}, "$.value: must be a string, a number"),
        ({"attribute": "city", "op": "exists", "value": 1}, "$.value: must be true or false"),
        ({"attribute": "a b", "op": "exists"}, "$.attribute: must be a name of letters"),
        ({"not": {"event": "A", "within_days": 0}}, "$.not.within_days: must be a whole number"),
        ({"event": "A", "where": {"amount": {"gte": 1, "lt": 5}}}, "$.where.amount: must hold"),
        ({"event": "A", "where": {"sku": {"like": "x"}}}, "$.where.sku.like: must be one of"),
        ({"event": "A", "sum": {"property": "revenue", "gte": "9"}}, "$.sum.gte: must be a number"),
        ({"event": "A", "sum": {"gte": 9}}, '$.sum: must name a "property"'),
        ({"event": ""}, "$.event: must be an event name"),
        ({"sequence": ["A"]}, "$.sequence: must list 2 to 10 events in order"),
        ({"sequence": ["A", {"name": "B"}]}, "$.sequence[1]: must be an event name or"),
        ({"lifecycle": {"in": ["new", "dormant"]}}, "$.lifecycle.in[1]: must be one of new"),
        ({"rfm": {"in": []}}, "$.rfm.in: must be a non-empty list"),
        ({"rfm": ["important_value"]}, '$.rfm: must be {"in": [...]}'),
        ({"owner": {"in": ["7"]}}, "$.owner.in[0]: must be an id (a whole number)"),
        ({"first_touchpoint": {"in": [3]}}, "$.first_touchpoint.in[0]: must be a touchpoint"),
    ],
)
def test_an_invalid_rule_names_the_path_of_the_bad_node(rule, error):
    with pytest.raises(RuleError) as raised:
        parse_rule(rule)

    assert str(raised.value).startswith(error)


def test_a_rule_error_is_an_invalid_input_naming_its_field():
    with pytest.raises(InvalidInput) as raised:
        parse_rule({"and": [{"tag": "a"}, {"event": "A", "count": {"gte": -1}}]})

    assert raised.value.to_dict() == {
        "code": "invalid_rule",
        "message": "must be a non-negative integer",
        "field": "$.and[1].count.gte",
    }


def test_rules_cannot_nest_without_end():
    rule: dict = {"tag": "vip"}
    for _ in range(25):
        rule = {"not": rule}

    with pytest.raises(RuleTooCostly, match="SIYU_SEGMENT_MAX_DEPTH is 20") as refused:
        parse_rule(rule)
    assert refused.value.field == "$" + ".not" * 21


def test_segments_naming_segments_cannot_grow_without_end():
    # Each of five segments names the next eight times: 8 ** 5 conditions, nested only 10 deep.
    stored = {f"s{i}": {"or": [{"segment": f"s{i + 1}"}] * 8} for i in range(5)}
    stored["s5"] = {"tag": "vip"}

    with pytest.raises(RuleTooCostly, match="SIYU_SEGMENT_MAX_CONDITIONS is 50"):
        parse_rule({"segment": "s0"}, stored.get)


def test_a_rule_at_its_cost_limits_is_taken_and_one_more_condition_is_not():
    limits = RuleLimits(conditions=12, event_conditions=3, depth=2)
    events = [{"event": "Order Completed"}] * 3
    parse_rule({"and": [*events, {"not": {"tag": "vip"}}]}, limits=limits)

    with pytest.raises(RuleTooCostly) as refused:
        parse_rule({"and": [*events, {"not": {"event": "Refund"}}]}, limits=limits)
    assert refused.value.to_dict() == {
        "code": "rule_too_costly",
        "message": "too many event and sequence conditions, counting those of the segments "
        "named (SIYU_SEGMENT_MAX_EVENT_CONDITIONS is 3)",
        "field": "$.and[3].not",
        "limit": "SIYU_SEGMENT_MAX_EVENT_CONDITIONS",
        "max": 3,
    }
    with pytest.raises(RuleTooCostly, match="SIYU_SEGMENT_MAX_DEPTH"):
        parse_rule({"and": [{"not": {"not": {"tag": "vip"}}}]}, limits=limits)


def test_event_conditions_count_those_of_the_segments_named(monkeypatch):
    monkeypatch.setenv("SIYU_SEGMENT_MAX_EVENT_CONDITIONS", "2")
    reset_settings()
    stored = {"buyers": {"and": [{"event": "Order Completed"}, {"sequence": ["A", "B"]}]}}
    parse_rule({"segment": "buyers"}, stored.get)

    with pytest.raises(RuleTooCostly, match="SIYU_SEGMENT_MAX_EVENT_CONDITIONS is 2"):
        parse_rule({"or": [{"segment": "buyers"}, {"event": "Visit"}]}, stored.get)


def test_a_segment_reference_is_resolved_into_the_rule():
    stored = {"buyers": {"event": "Order Completed"}}

    rule = parse_rule({"not": {"segment": "buyers"}}, stored.get)

    assert rule.condition == InSegment("buyers", parse_rule(stored["buyers"]))


def test_an_unknown_segment_is_refused():
    with pytest.raises(RuleError, match=r"^\$\.or\[0\]\.segment: no segment 'ghost'"):
        parse_rule({"or": [{"segment": "ghost"}]}, {}.get)


def test_segments_that_refer_to_each_other_are_refused_with_the_cycle():
    stored = {"b": {"and": [{"tag": "t"}, {"segment": "a"}]}, "a": {"segment": "b"}}

    with pytest.raises(RuleError) as raised:
        parse_rule(stored["a"], stored.get, key="a")

    assert str(raised.value) == (
        "$.segment(b).and[1].segment: segments refer to each other in a cycle: a → b → a"
    )


def test_a_segment_naming_itself_is_a_cycle_even_without_a_key():
    with pytest.raises(RuleError, match=r"cycle: c → c$"):
        parse_rule({"segment": "c"}, {"c": {"segment": "c"}}.get)


def test_an_error_inside_a_referenced_segment_names_where_it_was_referenced():
    stored = {"vip": {"or": [{"tag": "vip"}, {"rfm": {"in": ["vip"]}}]}}

    with pytest.raises(RuleError, match=r"^\$\.and\[0\]\.segment\(vip\)\.or\[1\]\.rfm\.in\[0\]"):
        parse_rule({"and": [{"segment": "vip"}]}, stored.get)


def test_segments_cannot_be_referenced_without_a_resolver():
    with pytest.raises(RuleError, match="cannot be referenced here"):
        parse_rule({"segment": "vip"})


def test_a_touchpoint_type_is_one_of_the_touchpoint_groups():
    parsed = parse_rule({"last_touchpoint": {"in_group": ["store", "mall"]}})
    assert parsed == TouchpointGroupIn("last_touchpoint", ("store", "mall"))

    with pytest.raises(RuleError) as raised:
        parse_rule({"first_touchpoint": {"in_group": ["stores"]}})
    assert raised.value.path == "$.first_touchpoint.in_group[0]"
    with pytest.raises(RuleError, match=r"must be \{\"in\": \[\.\.\.\]\}"):
        parse_rule({"store": {"in_group": ["store"]}})  # a store is chosen by id


def test_a_rule_error_carries_its_message_id_and_values_for_the_page_to_translate():
    with pytest.raises(RuleError) as raised:
        parse_rule({"event": "Order Completed", "within_days": 0})
    error = raised.value
    assert error.template == "must be a whole number of days, 1 to %(max)s"
    assert error.params == {"max": 36_500}
    assert str(error) == "$.within_days: must be a whole number of days, 1 to 36500"


def test_named_in_lists_what_a_rule_needs_to_exist_through_the_segments_it_names():
    vip = {"or": [{"tag": "VIP"}, {"owner": {"in": [7]}}]}
    rule = {
        "and": [
            {"not": {"tag": "blocked"}},
            {"sequence": ["Product Viewed", "Order Completed"]},
            {"event": "Order Completed"},
            {"first_touchpoint": {"in": ["poster"]}},
            {"first_touchpoint": {"in_group": ["store"]}},  # a type: nothing to look up
            {"store": {"in": [3]}},
            {"segment": "vip"},
        ]
    }
    named = named_in(parse_rule(rule, {"vip": vip}.get))
    assert named == Named(
        events=["Product Viewed", "Order Completed"],
        tags=["blocked", "VIP"],
        touchpoints=["poster"],
        stores=[3],
        owners=[7],
    )
