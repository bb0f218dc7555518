"""A journey's definition: checked with every problem named by its JSON path."""

from __future__ import annotations

import copy

import pytest

from siyu.journeys import service
from siyu.journeys.definition import (
    STEP_KINDS,
    DefinitionError,
    Step,
    StepKind,
    parse_definition,
    register,
)

BASE = {
    "key": "after-signup",
    "name": "After sign-up",
    "entry": {"event": "Signed Up"},
    "steps": [
        {"id": "wait", "kind": "wait", "duration": "P3D", "next": "ordered"},
        {
            "id": "ordered",
            "kind": "branch",
            "condition": {"since_entry": {"event": "Order Completed"}},
            "then": "thank",
            "else": "remind",
        },
        {"id": "thank", "kind": "tag", "tag": "bought"},
        {"id": "remind", "kind": "untag", "tag": "bought", "next": "bye"},
        {"id": "bye", "kind": "exit"},
    ],
}


def _problems(document) -> list[tuple[str, str]]:
    """(JSON path, the English message) of each problem."""
    with pytest.raises(DefinitionError) as caught:
        parse_definition(document)
    return [(p.path, p.message) for p in caught.value.problems]


def _with(**changes) -> dict:
    document = copy.deepcopy(BASE)
    document.update(changes)
    return document


def test_a_good_definition_reads_into_typed_steps():
    definition = parse_definition(BASE)
    assert definition.start == "wait"
    assert definition.steps["wait"].duration.days == 3
    assert definition.unpublishable() == []


def test_errors_name_the_json_path_of_each_problem():
    steps = copy.deepcopy(BASE["steps"])
    steps[0]["duration"] = "three days"
    steps[1]["condition"] = {"and": [{"event": 7}]}
    found = dict(_problems(_with(steps=steps, entry={"tagged": "x"})))
    assert "$.entry" in found
    assert "$.steps[0].duration" in found
    found = dict(_problems(_with(steps=[*BASE["steps"][:1], steps[1], *BASE["steps"][2:]])))
    assert "$.steps[1].condition.and[0].event" in found


def test_a_wait_needs_exactly_one_way_to_wait():
    steps = copy.deepcopy(BASE["steps"])
    steps[0]["until_time"] = "09:00"
    assert _problems(_with(steps=steps))[0][0] == "$.steps[0]"
    steps[0].pop("duration")
    steps[0]["until_time"] = "25:00"
    assert _problems(_with(steps=steps))[0][0] == "$.steps[0].until_time"


def test_a_cycle_is_refused_at_the_step_that_closes_it():
    steps = copy.deepcopy(BASE["steps"])
    steps[3]["next"] = "ordered"
    path, message = _problems(_with(steps=steps))[0]
    assert path == "$.steps[3].next" and "cycle" in message
    steps[3]["next"] = "wait"
    assert _problems(_with(steps=steps))[0][0] == "$.steps[3].next"  # back to the start


def test_every_next_names_a_step_and_every_step_is_reachable():
    steps = copy.deepcopy(BASE["steps"])
    steps[2]["next"] = "nowhere"
    assert _problems(_with(steps=steps)) == [("$.steps[2].next", "no step has the id 'nowhere'")]
    steps[2].pop("next")
    steps.append({"id": "orphan", "kind": "exit"})
    path, message = _problems(_with(steps=steps))[0]
    assert path == "$.steps[5]" and "cannot be reached" in message


def test_ids_are_unique_and_kinds_known():
    steps = copy.deepcopy(BASE["steps"])
    steps[4]["id"] = "thank"
    assert ("$.steps[4].id", "step id 'thank' is used twice") in _problems(_with(steps=steps))
    steps[4] = {"id": "bye", "kind": "teleport"}
    assert _problems(_with(steps=steps))[0][0] == "$.steps[4].kind"


def test_webhooks_take_only_http_urls_and_reentry_days_go_with_after_days():
    steps = [{"id": "hook", "kind": "webhook", "url": "ftp://example.com/x"}]
    assert _problems(_with(steps=steps))[0][0] == "$.steps[0].url"
    problems = _problems(_with(reentry={"policy": "never", "days": 3}))
    assert problems[0][0] == "$.reentry"


def test_size_is_bounded():
    steps = [{"id": f"s{i}", "kind": "exit"} for i in range(101)]
    assert _problems(_with(steps=steps))[0][0] == "$.steps"


def test_send_steps_are_checked_and_publishable():
    steps = [
        {"id": "hi", "kind": "send", "channel": "sms", "content": {"email": {"text": "hi"}}},
    ]
    assert _problems(_with(steps=steps))[0][0] == "$.steps[0]"
    steps[0]["content"] = {"sms": {"template": "HELLO"}}
    definition = parse_definition(_with(steps=steps))
    assert definition.unpublishable() == []


def test_every_sop_template_validates():
    for name in service.TEMPLATES:
        definition = parse_definition(service.template(name))
        assert definition.key == name
        assert definition.description


def test_a_later_domain_adds_a_kind_of_step():
    # A kind no domain has yet (the coupon step is promotions', registered for real).
    class StampStep(Step):
        kind: str = "stamp"
        card: str

    register(StepKind("stamp", StampStep))
    try:
        steps = [{"id": "give", "kind": "stamp", "card": "WELCOME10"}]
        assert parse_definition(_with(steps=steps)).steps["give"].card == "WELCOME10"
    finally:
        STEP_KINDS.pop("stamp")
    assert "coupon" in STEP_KINDS
