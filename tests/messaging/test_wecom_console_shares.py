"""WeCom without WeCom (the channel in console mode): each guide gets a share of the 群发 to send
by hand and confirm on Siyu's page; the follow-up job asks no WeCom about it, and a share nobody
confirms expires as a WeCom one does."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from siyu.core.db import utcnow
from siyu.messaging import dispatch, group_sends
from siyu.staff.models import Staff
from tests.messaging.factories import customer, delivery, guide_deliveries, statuses

GUIDES = ("lily", "mei")


def _broadcast(session) -> dict[str, list[int]]:
    """A send (origin test, 7) to two customers of each guide, plus one with no guide."""
    ids = guide_deliveries(session, GUIDES, {"text": "会员日到店有礼"})
    lone = customer(session, "no-guide")
    ids["none"] = [delivery(session, lone, "wecom", address="wm-x", origin_id=7).id]
    session.commit()
    return ids


def _shares(session) -> dict[str, str]:
    return {
        r["wecom_userid"]: r["status"] for r in group_sends.group_send_status(session, "test", 7)
    }


def test_console_wecom_hands_each_guide_a_share_to_confirm(session):
    ids = _broadcast(session)

    dispatch.dispatch_channel(session, "wecom", dispatch.senders(session)["wecom"])

    assert _shares(session) == {"lily": "pending", "mei": "pending"}
    assert statuses(session, ids["lily"] + ids["mei"]) == [("pending", None)] * 4
    assert statuses(session, ids["none"]) == [("failed", "no_guide")]  # as WeCom would
    lily = next(
        r for r in group_sends.group_send_status(session, "test", 7) if r["guide"] == "Lily"
    )
    assert group_sends.confirm(session, lily["id"]) == 2
    assert statuses(session, ids["lily"]) == [("sent", None)] * 2


def test_the_follow_up_asks_no_wecom_and_expires_unconfirmed_console_shares(session):
    ids = _broadcast(session)
    dispatch.dispatch_channel(session, "wecom", dispatch.senders(session)["wecom"])

    # No WeCom is configured: asking it would raise. A day on, nothing changes.
    assert group_sends.check_group_sends(session, now=utcnow() + timedelta(days=1)) == 2
    assert _shares(session) == {"lily": "pending", "mei": "pending"}

    later = utcnow() + group_sends.GIVE_UP_AFTER + timedelta(minutes=10)
    group_sends.check_group_sends(session, now=later)
    session.commit()

    assert _shares(session) == {"lily": "failed", "mei": "failed"}
    assert statuses(session, ids["mei"]) == [("failed", "not_confirmed")] * 2
    assert group_sends.check_group_sends(session, now=later) == 0  # nothing left open


def test_a_share_that_gets_new_customers_after_it_was_sent_can_be_confirmed_again(session):
    ids = _broadcast(session)
    dispatch.dispatch_channel(session, "wecom", dispatch.senders(session)["wecom"])
    lily = next(
        r for r in group_sends.group_send_status(session, "test", 7) if r["guide"] == "Lily"
    )
    group_sends.confirm(session, lily["id"])
    staff = session.scalars(select(Staff).where(Staff.wecom_userid == "lily")).one()
    cid = customer(session, "lily-late")
    late = delivery(
        session,
        cid,
        "wecom",
        key=f"test:7:{cid}",
        address="wm-lily-late",
        content={"text": "会员日到店有礼"},
        send_at=utcnow() - timedelta(seconds=1),
        origin_id=7,
        guide_id=staff.id,
    )
    session.commit()

    dispatch.dispatch_channel(session, "wecom", dispatch.senders(session)["wecom"])

    assert _shares(session)["lily"] == "partly"  # a journey step's share, a day later
    assert group_sends.confirm(session, lily["id"]) == 1
    assert statuses(session, ids["lily"] + [late.id]) == [("sent", None)] * 3
    assert _shares(session)["lily"] == "sent"


def test_reminding_a_console_share_asks_no_wecom_and_marks_it_for_the_guide(session):
    _broadcast(session)
    dispatch.dispatch_channel(session, "wecom", dispatch.senders(session)["wecom"])
    waiting = [r["id"] for r in group_sends.group_send_status(session, "test", 7)]

    # No WeCom is configured: asking it would raise.
    assert sorted(group_sends.remind(session, waiting)) == sorted(waiting)
    assert all(r["reminded_at"] for r in group_sends.group_send_status(session, "test", 7))
