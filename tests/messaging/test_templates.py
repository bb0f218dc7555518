"""Templates: the customer's variables, a missing one an error naming it (never a blank), the
sandbox holding, and deliveries rendered for their customer when they are sent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest

from siyu.core.db import utcnow
from siyu.messaging import dispatch, templates
from siyu.messaging.models import MessageContent
from siyu.messaging.sending import Outcome, Outgoing
from siyu.staff.service import assign_owner, create_staff
from tests.messaging.factories import customer, delivery

SAMPLE = templates.context(7, {"name": "王芳", "city": "杭州"}, guide="导购张", store="西湖店")


def test_a_template_renders_the_customers_variables():
    text = "{{ name }}，{{ guide }}在{{ store }}等您（{{ traits.city }}，#{{ id }}）"
    assert templates.render(text, SAMPLE) == "王芳，导购张在西湖店等您（杭州，#7）"


def test_a_missing_variable_is_named_not_left_blank():
    ctx = templates.context(7, {})
    with pytest.raises(templates.TemplateProblem) as problem:
        templates.render("Hi {{ name }}", ctx)
    assert problem.value.variable == "name"
    (found,) = templates.check("{{ traits.birthday }}", SAMPLE, "subject")
    assert found.field == "subject" and found.variable == "birthday"


def test_check_names_unknown_variables_and_syntax_errors():
    problems = templates.check("{{ coupon }} {{ nme }}", SAMPLE)
    assert [p.variable for p in problems] == ["coupon", "nme"]
    (broken,) = templates.check("{{ name ", SAMPLE)
    assert "line 1" in broken.message
    assert templates.check("Hi {{ name }}", SAMPLE) == []


def test_the_sandbox_refuses_reaching_out():
    with pytest.raises(templates.TemplateProblem):
        templates.render("{{ traits.__class__.__mro__ }}", SAMPLE)


def test_html_parts_escape_what_the_customer_typed():
    ctx = templates.context(1, {"name": "<b>x</b>"})
    assert templates.render("<p>{{ name }}</p>", ctx, html=True) == "<p>&lt;b&gt;x&lt;/b&gt;</p>"
    assert templates.render("{{ name }}", ctx) == "<b>x</b>"


class Recorder:
    channel = "wecom"

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        self.sent.extend(batch)
        return [Outcome(o.delivery_id, "sent") for o in batch]

    def reconcile(self, batch: Sequence[Outgoing]) -> list[Outcome | None]:
        return [None for _ in batch]


def test_deliveries_are_rendered_for_their_customer_when_sent(session):
    guide = create_staff(session, "导购张", wecom_userid="zhang")
    named = customer(session, "c1", name="王芳", wecom_external_userid="wm1")
    nameless = customer(session, "c2", wecom_external_userid="wm2")
    assign_owner(session, named, guide.id)
    content = MessageContent(
        channel="wecom",
        text="{{ name }}您好，{{ guide }}为您准备了礼物 {{ links[0] }}",
        extras={"links": ["https://shop.example/gift"], "link": {"title": "{{ name }}的礼物"}},
    )
    session.add(content)
    session.flush()
    due = utcnow() - timedelta(seconds=1)
    ok = delivery(
        session, named, "wecom", key="a", address="wm1", content_id=content.id, send_at=due
    )
    gap = delivery(
        session, nameless, "wecom", key="b", address="wm2", content_id=content.id, send_at=due
    )
    session.commit()
    sender = Recorder()
    dispatch.dispatch_channel(session, "wecom", sender)
    session.expire_all()
    (sent,) = sender.sent
    assert sent.delivery_id == ok.id and sent.guide_userid == "zhang"
    assert sent.content["text"].startswith(
        "王芳您好，导购张为您准备了礼物 http://127.0.0.1:8000/l/"
    )
    assert sent.content["link"] == {"title": "王芳的礼物"}
    assert (gap.status, gap.reason) == ("failed", "template")
    assert "name" in (gap.error or "")
