"""A channel's daily quota (an SMS package's limit a day) is kept where messages are handed
over: what is over it waits, still planned, for the next day; nothing fails or is lost."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from siyu.messaging import dispatch, policy
from siyu.messaging.channels.console import ConsoleSender
from siyu.messaging.models import Delivery
from siyu.messaging.service import set_consent
from tests.messaging.factories import customer, delivery

# 10:00 in Shanghai (the brand's zone), outside quiet hours.
MORNING = datetime(2026, 12, 7, 2, tzinfo=UTC)
NEXT_MORNING = datetime(2026, 12, 8, 1, tzinfo=UTC)  # 09:00 there: quiet hours end


def test_over_the_daily_quota_waits_for_the_next_day(session):
    policy.set_platform_limits(session, "sms", {"daily_quota": 3})
    for n in range(5):
        cid = customer(session, f"c{n}")
        set_consent(session, cid, "sms", "subscribed", method="import", source="门店", actor="t")
        delivery(
            session,
            cid,
            "sms",
            address=f"1380000000{n}",
            send_at=MORNING,
            purpose="transactional" if n == 4 else "marketing",
        )
    session.commit()
    config = {"daily_quota": 3}
    sender = ConsoleSender("sms")

    while dispatch.dispatch_channel(session, "sms", sender, config, now=MORNING):
        pass

    rows = session.scalars(select(Delivery).order_by(Delivery.id)).all()
    assert [d.status for d in rows] == ["sent"] * 3 + ["planned"] * 2
    marketing, transactional = rows[3], rows[4]
    assert marketing.send_at == NEXT_MORNING  # tomorrow, once quiet hours are over
    assert transactional.send_at == datetime(2026, 12, 7, 16, tzinfo=UTC)  # tomorrow, 00:00

    dispatch.dispatch_channel(session, "sms", sender, config, now=NEXT_MORNING)
    session.expire_all()
    assert [d.status for d in session.scalars(select(Delivery))] == ["sent"] * 5
