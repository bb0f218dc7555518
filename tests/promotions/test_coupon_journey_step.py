"""A journey's coupon step issues each customer who reaches it one coupon of its template, the
template's stock and limits holding; a journey naming a template that does not exist is refused
at publishing, with the step named."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from siyu.core.db import unit_of_work
from siyu.journeys import service as journeys
from siyu.journeys.definition import DefinitionError
from siyu.promotions import service as promotions
from siyu.promotions.models import Coupon
from tests.journeys.test_flow import _now_message, _publish, _run_due
from tests.journeys.test_steps import _journey, _runs, clock  # noqa: F401 - the fixture
from tests.segments.brand import Brand


def test_a_coupon_step_issues_one_within_the_stock(clock):  # noqa: F811
    with unit_of_work() as s:
        promotions.create_template(
            s, "welcome", "新客券", "amount", amount_fen=1000, valid_days=7, stock=2
        )
    steps = [
        {"id": "gift", "kind": "coupon", "template": "welcome", "next": "done"},
        {"id": "done", "kind": "tag", "tag": "welcomed"},
    ]
    _publish(_journey("welcome", {"event": "Signed Up"}, steps))
    brand = Brand()
    brand.send(*(_now_message(who, "Signed Up", f"s-{who}") for who in ("ann", "bob", "cat")))
    _run_due()
    with unit_of_work() as s:
        held = {c.customer_id: (c.via, c.via_ref) for c in s.scalars(select(Coupon))}
    assert len(held) == 2 and set(held.values()) == {("journey", "welcome")}
    outcomes = sorted(outcome for step, _, outcome in _runs() if step == "gift")
    assert outcomes == ["issued", "issued", "out_of_stock"]
    assert sum(1 for step, status, _ in _runs() if step == "done" and status == "done") == 3


def test_a_journey_naming_no_template_is_refused_at_publishing():
    steps = [{"id": "gift", "kind": "coupon", "template": "nowhere"}]
    with unit_of_work() as s:
        journeys.create_journey(s, _journey("gifts", {"event": "Signed Up"}, steps), "test")
    with unit_of_work() as s, pytest.raises(DefinitionError) as refused:
        journeys.publish(s, "gifts", "test")
    assert [p.path for p in refused.value.problems] == ["$.steps[0].template"]
