"""The builder's edits of a definition: remove a step, move one up, the links around mended; what
cannot be mended is refused, and the definition's own checks judge every result."""

from __future__ import annotations

import pytest

from siyu.core.errors import InvalidInput
from siyu.journeys.definition import parse_definition as parse
from siyu.journeys.editing import moved_up, with_step, without_step

LINE = {
    "key": "line",
    "name": "Line",
    "entry": {"event": "Signed Up"},
    "steps": [
        {"id": "a", "kind": "tag", "tag": "a", "next": "b"},
        {"id": "b", "kind": "wait", "duration": "P1D", "next": "c"},
        {"id": "c", "kind": "tag", "tag": "c", "next": "d"},
        {"id": "d", "kind": "exit"},
    ],
}
FORKED = {
    "key": "forked",
    "name": "Forked",
    "entry": {"event": "Signed Up"},
    "steps": [
        {
            "id": "fork",
            "kind": "branch",
            "condition": {"event": "Order Completed"},
            "then": "thanks",
            "else": "nudge",
        },
        {"id": "thanks", "kind": "tag", "tag": "thanks", "next": "bye"},
        {"id": "nudge", "kind": "wait", "duration": "P1D", "next": "bye"},
        {"id": "bye", "kind": "exit"},
    ],
}


def _chain(definition: dict) -> list[str]:
    """The step ids from the start along `next`."""
    steps = {s["id"]: s for s in definition["steps"]}
    at = definition.get("start") or definition["steps"][0]["id"]
    seen = []
    while at:
        seen.append(at)
        at = steps[at].get("next")
    return seen


def test_removing_a_step_leads_its_predecessor_to_its_successor():
    edited = without_step(LINE, "b")
    assert _chain(edited) == ["a", "c", "d"]
    parse(edited)  # still a valid definition
    assert [s["id"] for s in LINE["steps"]] == ["a", "b", "c", "d"]  # the original untouched


def test_removing_the_start_starts_at_the_step_after_it():
    assert _chain(without_step(LINE, "a")) == ["b", "c", "d"]
    started = LINE | {"start": "a"}
    assert without_step(started, "a")["start"] == "b"


def test_removing_a_branch_target_mends_the_branch():
    edited = without_step(FORKED, "nudge")
    fork = edited["steps"][0]
    assert (fork["then"], fork["else"]) == ("thanks", "bye")
    parse(edited)


def test_moving_a_step_up_swaps_it_with_the_step_before_it():
    edited = moved_up(LINE, "c")
    assert _chain(edited) == ["a", "c", "b", "d"]
    assert [s["id"] for s in edited["steps"]] == ["a", "c", "b", "d"]
    parse(edited)
    assert _chain(moved_up(LINE, "b")) == ["b", "a", "c", "d"]  # a new start


def test_a_step_led_to_by_a_branch_or_by_two_steps_does_not_move():
    with pytest.raises(InvalidInput) as refused:
        moved_up(FORKED, "bye")  # two steps lead to it
    assert refused.value.field == "step"
    with pytest.raises(InvalidInput):
        moved_up(FORKED, "thanks")  # the branch leads to it
    with pytest.raises(InvalidInput):
        moved_up(LINE, "d")  # an exit is moved in the JSON
    with pytest.raises(InvalidInput):
        moved_up(LINE, "a")  # the start
    with pytest.raises(InvalidInput):
        without_step(LINE, "nowhere")


def test_a_step_added_at_the_end_is_led_to_by_the_last_one():
    last = {"id": "c", "kind": "tag", "tag": "c"}  # leads nowhere yet
    open_end = LINE | {"steps": [*LINE["steps"][:2], last]}
    edited = with_step(open_end, {"id": "e", "kind": "exit"})
    assert _chain(edited) == ["a", "b", "c", "e"]
