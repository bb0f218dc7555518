"""The demo brand has three tiers (普通 / 银卡 / 金卡) and points: every customer who ordered is a
member of the tier their year's spend reaches, with a point per yuan, and the ledger balances."""

from __future__ import annotations

from sqlalchemy import func, select

from siyu.demo import service
from siyu.events.models import OutboxEvent
from siyu.orders.models import Order
from siyu.promotions import members, points
from siyu.promotions.member_models import Membership
from tests.demo.test_demo import NOW, PLAN


def test_the_demo_places_its_customers_in_three_tiers_with_points(session):
    service.build(PLAN, NOW)
    ladder = members.tiers(session)
    assert [t.name for t in ladder] == ["普通", "银卡", "金卡"]
    buyers = session.scalar(select(func.count(func.distinct(Order.customer_id))))
    assert session.scalar(select(func.count()).select_from(Membership)) == buyers > 0
    counts = members.tier_counts(session)
    assert counts.get(ladder[0].id, 0) > 0 and counts.get(ladder[1].id, 0) > 0
    assert points.check(session) == []
    anyone = session.scalar(select(Membership).where(Membership.points > 0).limit(1))
    card = members.member_card(session, anyone.customer_id)
    assert card.points == anyone.points and card.tier in {"普通", "银卡", "金卡"}
    events = dict(
        session.execute(
            select(OutboxEvent.event, func.count())
            .where(OutboxEvent.event.in_(("Tier Changed", "Points Earned")))
            .group_by(OutboxEvent.event)
        ).all()
    )
    assert events["Tier Changed"] == buyers
