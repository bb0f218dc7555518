"""Outbound WeCom calls: contact ways with the code as `state`, transfers and their results."""

from __future__ import annotations

from sqlalchemy import select
from typer.testing import CliRunner

from siyu.cli import app
from siyu.codes.service import create_code, find_code
from siyu.core.db import session_factory, unit_of_work, utcnow
from siyu.core.jobs import Job
from siyu.customers.models import Customer
from siyu.staff.handover import hand_over
from siyu.staff.models import HandoverMove
from siyu.staff.service import create_staff
from siyu.wecom import service
from tests.console_support import csrf_of
from tests.wecom.conftest import added, book_tick, run_jobs


def test_contact_way_carries_the_code_as_state(fake_wecom):
    with unit_of_work() as s:
        guide = create_staff(s, "Guide Zhang", "guide", wecom_userid="zhang")
        create_code(
            s, "Poster", code="poster-1", staff_id=guide.id, target_kind="wecom_contact_way"
        )
    result = CliRunner().invoke(app, ["wecom", "contact-way", "poster-1", "--json"])
    assert result.exit_code == 0, result.output
    call = fake_wecom.state.calls_to("add_contact_way")[0]
    assert call.body["state"] == "poster-1" and call.body["user"] == ["zhang"]
    assert call.body["type"] == 1 and call.body["scene"] == 2
    with session_factory()() as s:
        assert find_code(s, "poster-1").target.startswith("https://wework.qpic.cn/")


def test_contact_way_for_a_code_without_guides_says_why(fake_wecom):
    with unit_of_work() as s:
        create_code(s, "Poster", code="poster-2")
    result = CliRunner().invoke(app, ["wecom", "contact-way", "poster-2"])
    assert result.exit_code == 2
    assert "no guide" in result.output


def test_the_console_says_why_a_contact_way_cannot_be_made(fake_wecom, signed_in):
    with unit_of_work() as s:
        create_code(s, "Poster", code="poster-3", target_kind="wecom_contact_way")
    operator = signed_in("operator")
    page = operator.get("/codes/poster-3").text
    answer = operator.post("/codes/poster-3/contact-way", data={"csrf_token": csrf_of(page)})
    assert answer.status_code == 400
    assert 'data-test="form-error"' in answer.text and "没有企业微信 UserID" in answer.text
    assert not fake_wecom.state.calls_to("add_contact_way")


def test_transfers_are_sent_and_their_results_applied(post_callback, fake_wecom):
    with unit_of_work() as s:
        zhang = create_staff(s, "Guide Zhang", "guide", wecom_userid="zhang")
        li = create_staff(s, "Guide Li", "guide", wecom_userid="li")
        ids = (zhang.id, li.id)
    for external in ("wm-a", "wm-b"):
        post_callback(added(external, "zhang", welcome=f"W-{external}"))
    run_jobs()
    with unit_of_work() as s:
        hand_over(s, ids[0], ids[1], "moving", "test")
    with unit_of_work() as s:
        assert service.push_transfers(s) == 2
    with unit_of_work() as s:  # asked once: WeCom would refuse a second request
        assert service.push_transfers(s) == 0
    sent = fake_wecom.state.calls_to("externalcontact/transfer_customer")[0].body
    assert sorted(sent["external_userid"]) == ["wm-a", "wm-b"]
    fake_wecom.state.transfers[("zhang", "li")] = {"wm-a": 1, "wm-b": 3}  # taken / refused
    with unit_of_work() as s:
        assert service.poll_transfers(s) == 2
    with session_factory()() as s:
        moves = {m.external_userid: m for m in s.scalars(select(HandoverMove))}
        assert moves["wm-a"].status == "succeeded" and moves["wm-b"].status == "refused"
        owners = {s.get(Customer, m.customer_id).owner_id for m in moves.values()}
        assert owners == {ids[0], ids[1]}  # the refused customer keeps the old owner


def test_status_reports_configuration(fake_wecom):
    result = CliRunner().invoke(app, ["wecom", "status", "--json"])
    assert result.exit_code == 0, result.output
    assert '"callback_configured": true' in result.output


def test_the_transfers_job_sends_then_the_schedule_polls_while_moves_wait(
    post_callback, fake_wecom, signed_in
):
    with unit_of_work() as s:
        zhang = create_staff(s, "Guide Zhang", "guide", wecom_userid="zhang")
        li = create_staff(s, "Guide Li", "guide", wecom_userid="li")
        ids = (zhang.id, li.id)
    post_callback(added("wm-a", "zhang"))
    run_jobs()
    with unit_of_work() as s:
        hand_over(s, ids[0], ids[1], "leaving", "test")
    operator = signed_in("operator")
    page = operator.get("/wecom")
    assert 'data-test="send-transfers"' in page.text
    operator.post("/wecom/transfers", data={"csrf_token": csrf_of(page.text)})
    run_jobs()
    # the guide has left: 离职继承 (resigned) is the call
    assert fake_wecom.state.calls_to("resigned/transfer_customer")
    polls = len(fake_wecom.state.calls_to("transfer_result"))
    assert polls >= 1
    # the move still waits: the every-30-minutes schedule asks WeCom again, once per tick
    assert book_tick("wecom-transfers", utcnow()) == 1
    assert book_tick("wecom-transfers", utcnow()) == 0
    assert run_jobs() == 1
    assert len(fake_wecom.state.calls_to("transfer_result")) == polls + 1
    with session_factory()() as s:
        ran = s.scalars(select(Job.status).where(Job.kind == "wecom.transfers")).all()
        assert ran == ["done", "done"]  # nothing books itself: the next ask is the next tick
