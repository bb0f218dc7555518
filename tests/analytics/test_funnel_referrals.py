"""The funnels' Referral step follows the invited customer: on the demo brand, customers who came
through the referral poster (老带新) and bought reach it, in AARRR and in RARRA."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import select

from siyu.analytics import funnels, runner
from siyu.customers.models import Identity
from siyu.demo import service
from siyu.demo.stream import Plan
from siyu.events.models import OutboxEvent

PLAN = Plan(
    end_date=date(2025, 11, 30), customers=300, days=60, seed=3, zone=ZoneInfo("Asia/Shanghai")
)
PERIOD = {"start": date(2025, 10, 2), "end": date(2025, 11, 30)}
REFERRAL_POSTER = "poster-referral"


def referral_step(row: funnels.Row) -> int:
    (step,) = [s for s in row.steps if s.label == "Referral"]
    return step.customers


def funnel(**query) -> funnels.Result:
    return runner.run(funnels, funnels.Query(period=PERIOD, **query)).result


def test_a_referral_funnel_on_the_demo_counts_the_invited_customers(session):
    service.build(PLAN, datetime(2025, 12, 1, 12, tzinfo=UTC))

    referrals = session.execute(
        select(OutboxEvent.customer_id, OutboxEvent.properties).where(
            OutboxEvent.event == "Referral Completed"
        )
    ).all()
    user_id = dict(
        session.execute(
            select(Identity.customer_id, Identity.value).where(Identity.type == "user_id")
        ).all()
    )
    assert referrals
    for customer_id, properties in referrals:  # the event is the invited customer's own
        named = orjson.loads(properties)
        assert user_id[customer_id] == named["referee_id"] != named["referrer_id"]

    aarrr = funnel(template="aarrr", breakdown="touchpoint")
    reached = {row.key: referral_step(row) for row in aarrr.rows if referral_step(row)}
    assert list(reached) == [REFERRAL_POSTER]  # invited customers came through the poster
    assert referral_step(aarrr.total) == reached[REFERRAL_POSTER] > 0
    assert referral_step(funnel(template="rarra").total) > 0
