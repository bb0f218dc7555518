"""Edits of a definition's JSON that the console's builder makes without showing the JSON: add a
step at the end, remove a step, move a step before the one it follows. Each returns a new
document; the definition's own checks (journeys.service.save_draft) judge the result, so an edit
that would break the graph is refused there with its path, as a hand edit would be.

Links between steps are `next`, a branch's `then` and `else`, a split's variants' `next`, a
wait's `until_event.timeout_next`, and the definition's `start` (else the first step starts).
"""

from __future__ import annotations

import copy
from typing import Any

from siyu.core.errors import InvalidInput
from siyu.core.i18n import N_

# Kinds whose only way on is `next`: the ones a step can be moved past.
NOT_LINEAR = ("branch", "split", "exit")


def with_step(definition: dict[str, Any], step: dict[str, Any]) -> dict[str, Any]:
    """The definition with the step appended, the last step (when it leads nowhere) led to it."""
    steps = _steps(definition)
    last = steps[-1] if steps else None
    if last and not last.get("next") and last.get("kind") not in NOT_LINEAR:
        last["next"] = step["id"]
    return definition | {"steps": [*steps, step]}


def without_step(definition: dict[str, Any], step_id: str) -> dict[str, Any]:
    """The definition without the step; whatever led to it leads where it led (its `next`), or
    nowhere when it led nowhere."""
    steps = _steps(definition)
    gone = _find(steps, step_id)
    after = gone.get("next") if isinstance(gone.get("next"), str) else None
    kept = [_relinked(s, step_id, after) for s in steps if s is not gone]
    document = dict(definition)
    if document.get("start") == step_id:
        document["start"] = after
    elif "start" not in document and steps[0] is gone and after:
        kept.sort(key=lambda s: s.get("id") != after)  # the step after the start starts now
    if document.get("start") is None:
        document.pop("start", None)
    return document | {"steps": kept}


def moved_up(definition: dict[str, Any], step_id: str) -> dict[str, Any]:
    """The step moved before the one step that leads to it (A → B → C → D with C moved up is
    A → C → B → D). Only between steps whose one way on is `next`, and only when one step leads
    to it: anything else is edited in the JSON."""
    steps = _steps(definition)
    step = _find(steps, step_id)
    before = [s for s in steps if step_id in targets(s)]
    if len(before) != 1 or _start(definition, steps) == step_id:
        raise InvalidInput(
            N_("step %(id)s can move up only when exactly one step leads to it"),
            field="step",
            params={"id": repr(step_id)},
        )
    previous = before[0]
    if previous.get("next") != step_id or {previous.get("kind"), step.get("kind")} & set(
        NOT_LINEAR
    ):
        raise InvalidInput(
            N_("branches, splits and exits are reordered in the JSON"),
            field="step",
        )
    previous_id = previous["id"]
    onward = step.get("next")
    moved = [_relinked(s, previous_id, step_id) if s is not previous else s for s in steps]
    step = _find(moved, step_id)
    step["next"] = previous_id
    previous = _find(moved, previous_id)
    if onward:
        previous["next"] = onward
    else:
        previous.pop("next", None)
    i, j = moved.index(previous), moved.index(step)
    moved[i], moved[j] = moved[j], moved[i]
    document = dict(definition)
    if document.get("start") == previous_id:
        document["start"] = step_id
    return document | {"steps": moved}


def _steps(definition: dict[str, Any]) -> list[dict[str, Any]]:
    return [copy.deepcopy(s) for s in definition.get("steps", []) if isinstance(s, dict)]


def _find(steps: list[dict[str, Any]], step_id: str) -> dict[str, Any]:
    for step in steps:
        if step.get("id") == step_id:
            return step
    raise InvalidInput(N_("no step has the id %(id)s"), field="step", params={"id": repr(step_id)})


def _start(definition: dict[str, Any], steps: list[dict[str, Any]]) -> str | None:
    start = definition.get("start")
    if isinstance(start, str):
        return start
    return steps[0].get("id") if steps else None


def targets(step: dict[str, Any]) -> list[str]:
    """The ids a step (as JSON) leads to: next, then, else, variants' next, a timeout's."""
    found = [step.get(field) for field in ("next", "then", "else")]
    variants = step.get("variants")
    if isinstance(variants, list):
        found += [v.get("next") for v in variants if isinstance(v, dict)]
    until = step.get("until_event")
    if isinstance(until, dict):
        found.append(until.get("timeout_next"))
    return [t for t in found if isinstance(t, str)]


def _relinked(step: dict[str, Any], old: str, new: str | None) -> dict[str, Any]:
    """The step with each link to `old` led to `new` (dropped when None)."""
    step = dict(step)
    for field in ("next", "then", "else"):
        if step.get(field) == old:
            _set(step, field, new)
    if isinstance(step.get("variants"), list):
        step["variants"] = [
            _set(dict(v), "next", new) if isinstance(v, dict) and v.get("next") == old else v
            for v in step["variants"]
        ]
    until = step.get("until_event")
    if isinstance(until, dict) and until.get("timeout_next") == old:
        step["until_event"] = _set(dict(until), "timeout_next", new)
    return step


def _set(holder: dict[str, Any], field: str, value: str | None) -> dict[str, Any]:
    if value is None:
        holder.pop(field, None)
    else:
        holder[field] = value
    return holder
