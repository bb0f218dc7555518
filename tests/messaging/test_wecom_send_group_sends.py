"""A 群发 through guides end to end against the fake WeCom: the dispatcher hands it over (one
template per guide), the follow-up job learns per guide and per customer what went, laggards are
reminded, and a crash after the template was made is reconciled without a second one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from siyu import work
from siyu.core.db import utcnow
from siyu.events.models import OutboxEvent
from siyu.messaging import dispatch, group_sends
from siyu.messaging.channels.wecom import WecomSender
from siyu.messaging.models import Channel, GroupSend
from siyu.staff.models import Staff
from siyu.wecom.client import WecomClient
from tests.messaging.factories import guide_deliveries, statuses
from tests.wecom import conftest as wecom_fixtures
from tests.wecom.fake_server import CORP_ID, CORP_SECRET, FakeTencent

fake_wecom = wecom_fixtures.fake_wecom  # the fake API, and the settings pointing at it
GUIDES = ("lily", "mei", "wang")
TEXT = {"text": "双十二会员日，全场满 300 减 50"}


def client(fake: FakeTencent) -> WecomClient:
    return WecomClient(CORP_ID, CORP_SECRET, fake.wecom_base)


@pytest.fixture
def broadcast(session, fake_wecom) -> dict[str, list[int]]:
    """A send (origin test, 7) to two customers of each of three guides: ids by guide."""
    ids = guide_deliveries(session, GUIDES, TEXT, key_prefix="broadcast:7:customer")
    for guide in GUIDES:
        for n in range(2):
            fake_wecom.state.add_contact(f"wm-{guide}-{n}", f"wm-{guide}-{n}", guide)
    session.commit()
    return ids


def shares(session) -> dict[str, tuple[str, int, int, int]]:
    """Per guide: the GroupSend's status, recipients, sent, failed."""
    return {
        row["wecom_userid"]: (row["status"], row["recipients"], row["sent"], row["failed"])
        for row in group_sends.group_send_status(session, "test", 7)
    }


def msgid_of(fake: FakeTencent, guide: str) -> str:
    return next(m for m, msg in fake.state.group_msgs.items() if msg["sender"] == guide)


def test_three_guides_get_one_template_each_and_a_share_to_confirm(session, fake_wecom, broadcast):
    dispatch.dispatch_channel(session, "wecom", WecomSender(client=client(fake_wecom)))

    assert len(fake_wecom.state.calls_to("add_msg_template")) == 3
    assert shares(session) == {g: ("pending", 2, 0, 0) for g in GUIDES}
    assert statuses(session, broadcast["lily"]) == [("pending", None)] * 2
    lily = session.scalar(select(GroupSend).join(Staff).where(Staff.wecom_userid == "lily"))
    assert lily.msgid == msgid_of(fake_wecom, "lily")


def test_follow_up_learns_per_guide_and_per_customer(session, fake_wecom, broadcast):
    dispatch.dispatch_channel(session, "wecom", WecomSender(client=client(fake_wecom)))
    fake_wecom.state.confirm(msgid_of(fake_wecom, "lily"), "lily")
    fake_wecom.state.confirm(msgid_of(fake_wecom, "mei"), "mei", {"wm-mei-1": 2})

    asked = group_sends.check_group_sends(session, client(fake_wecom))
    session.commit()

    assert asked == 3
    assert shares(session) == {
        "lily": ("sent", 2, 2, 0),
        "mei": ("partly", 2, 1, 1),
        "wang": ("pending", 2, 0, 0),
    }
    assert statuses(session, broadcast["mei"]) == [("sent", None), ("failed", "not_a_friend")]
    sent = session.scalars(select(OutboxEvent).where(OutboxEvent.event == "Message Sent")).all()
    assert len(sent) == 3

    fake_wecom.state.confirm(msgid_of(fake_wecom, "wang"), "wang", {"wm-wang-0": 3})
    # lily's and mei's shares are final: only wang's is asked again
    assert group_sends.check_group_sends(session, client(fake_wecom)) == 1
    session.commit()

    assert shares(session)["wang"] == ("partly", 2, 1, 1)
    assert statuses(session, broadcast["wang"]) == [("failed", "daily_limit"), ("sent", None)]
    group_sends.check_group_sends(session, client(fake_wecom))  # nothing new: nothing twice
    session.commit()
    sent = session.scalars(select(OutboxEvent).where(OutboxEvent.event == "Message Sent")).all()
    assert len(sent) == 4


def test_laggards_are_reminded(session, fake_wecom, broadcast):
    dispatch.dispatch_channel(session, "wecom", WecomSender(client=client(fake_wecom)))
    fake_wecom.state.confirm(msgid_of(fake_wecom, "lily"), "lily")
    group_sends.check_group_sends(session, client(fake_wecom))
    ids = [row["id"] for row in group_sends.group_send_status(session, "test", 7)]

    reminded = group_sends.remind(session, ids, client(fake_wecom))
    session.commit()

    assert len(reminded) == 2  # mei and wang; lily has sent
    reminders = {c.body["msgid"] for c in fake_wecom.state.calls_to("remind_groupmsg_send")}
    assert reminders == {msgid_of(fake_wecom, "mei"), msgid_of(fake_wecom, "wang")}
    rows = {r["wecom_userid"]: r for r in group_sends.group_send_status(session, "test", 7)}
    assert rows["mei"]["reminded_at"] and rows["wang"]["reminded_at"]
    assert rows["lily"]["reminded_at"] is None


def test_a_crash_after_the_template_is_reconciled_without_a_second(
    session, fake_wecom, broadcast, monkeypatch
):
    ours = WecomSender(client=client(fake_wecom))
    real_send = ours.send

    def send_then_die(batch):
        real_send(batch)  # the templates exist at WeCom ...
        raise SystemError("worker killed")  # ... and the outcomes are never recorded

    monkeypatch.setattr(ours, "send", send_then_die)
    dispatch.dispatch_channel(session, "wecom", ours)
    assert statuses(session, broadcast["lily"]) == [("sending", None)] * 2

    later = utcnow() + timedelta(hours=1)
    dispatch.reconcile_stale(session, {"wecom": WecomSender(client=client(fake_wecom))}, later)

    assert len(fake_wecom.state.calls_to("add_msg_template")) == 3
    assert statuses(session, sum(broadcast.values(), [])) == [("pending", None)] * 6
    assert shares(session) == {g: ("pending", 2, 0, 0) for g in GUIDES}


def test_an_unconfirmed_share_fails_after_a_month(session, fake_wecom, broadcast):
    dispatch.dispatch_channel(session, "wecom", WecomSender(client=client(fake_wecom)))

    group_sends.check_group_sends(session, client(fake_wecom), utcnow() + timedelta(days=31))
    session.commit()

    assert shares(session)["wang"] == ("failed", 2, 0, 2)
    assert statuses(session, broadcast["wang"]) == [("failed", "not_confirmed")] * 2


def test_the_follow_up_runs_every_ten_minutes():
    (schedule,) = [s for s in work.SCHEDULES if s.kind == group_sends.JOB_KIND]
    assert schedule.cron == "*/10 * * * *"
    assert work.HANDLERS[group_sends.JOB_KIND] is group_sends.run_check


def test_the_job_follows_up_with_the_configured_client(session, fake_wecom, broadcast):
    dispatch.dispatch_channel(session, "wecom", WecomSender(client=client(fake_wecom)))
    fake_wecom.state.confirm(msgid_of(fake_wecom, "lily"), "lily")
    (schedule,) = [s for s in work.SCHEDULES if s.kind == group_sends.JOB_KIND]

    wecom_fixtures.book_tick(schedule.name, utcnow())
    wecom_fixtures.run_jobs()

    session.expire_all()
    assert shares(session)["lily"] == ("sent", 2, 2, 0)
    assert statuses(session, broadcast["lily"]) == [("sent", None)] * 2


def test_a_live_channel_is_sent_by_the_wecom_sender(session, fake_wecom, broadcast):
    session.add(Channel(channel="wecom", mode="live"))
    session.commit()

    ways = dispatch.senders(session)
    dispatch.dispatch_channel(session, "wecom", ways["wecom"])

    assert isinstance(ways["wecom"], WecomSender)
    assert len(fake_wecom.state.calls_to("add_msg_template")) == 3


def test_shares_not_yet_sent_can_be_cancelled(session, fake_wecom, broadcast):
    dispatch.dispatch_channel(session, "wecom", WecomSender(client=client(fake_wecom)))
    fake_wecom.state.confirm(msgid_of(fake_wecom, "lily"), "lily")
    group_sends.check_group_sends(session, client(fake_wecom))
    ids = [row["id"] for row in group_sends.group_send_status(session, "test", 7)]

    stopped = group_sends.cancel(session, ids, client(fake_wecom))
    session.commit()

    assert len(stopped) == 2
    assert [m["sender"] for m in fake_wecom.state.group_msgs.values() if m["cancelled"]] == [
        "mei",
        "wang",
    ]
    assert shares(session)["mei"][0] == shares(session)["wang"][0] == "cancelled"
    assert shares(session)["lily"] == ("sent", 2, 2, 0)
    assert statuses(session, broadcast["wang"]) == [("cancelled", "cancelled")] * 2


def test_a_guide_confirms_on_the_page_when_wecom_does_not_ask(session, fake_wecom, broadcast):
    dispatch.dispatch_channel(session, "wecom", WecomSender(client=client(fake_wecom)))
    mei = next(r for r in group_sends.group_send_status(session, "test", 7) if r["guide"] == "Mei")

    assert group_sends.confirm(session, mei["id"]) == 2
    session.commit()

    assert shares(session)["mei"] == ("sent", 2, 2, 0)
    assert statuses(session, broadcast["mei"]) == [("sent", None)] * 2
    assert group_sends.confirm(session, mei["id"]) == 0  # once
