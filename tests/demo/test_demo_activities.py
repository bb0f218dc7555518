"""`siyu demo`'s activities: a flash sale every Friday and a group buy and a tiered price every
month, paid for by the demo's own orders (so the order reports count them), closed and refunded
as they would be live."""

from __future__ import annotations

from sqlalchemy import func, select

from siyu.demo import service
from siyu.events.models import OutboxEvent
from siyu.orders.models import Order
from siyu.promotions import flash, group_buys, tiered
from siyu.promotions.models import FlashReservation, GroupMember, PromotionRefund, TieredParticipant
from tests.demo.test_demo import NOW, PLAN, ZONE


def test_the_demo_runs_a_weekly_flash_sale_and_monthly_big_ones(session):
    service.build(PLAN, NOW)
    sales = flash.list_sales(session)
    fridays = {s.starts_at.astimezone(ZONE).weekday() for s in sales}
    assert len(sales) >= 8 and fridays == {4}  # 60 days: a sale every Friday
    assert sum(s.sold for s in sales) > 0
    assert {g.key for g in group_buys.list_group_buys(session)} == {
        "group-2025-10",
        "group-2025-11",
    }
    closed = tiered.list_tiered(session)
    assert {t.status for t in closed} == {"closed"} and all(t.final_price_fen for t in closed)
    # Every place was paid for by the demo's own order of the same customer.
    orders = dict(session.execute(select(Order.order_id, Order.customer_id)).all())
    for model in (FlashReservation, GroupMember, TieredParticipant):
        paid = session.execute(
            select(model.order_id, model.customer_id).where(model.order_id.is_not(None))
        ).all()
        assert paid and all(orders[o] == c for o, c in paid)
    # A tiered price that came down refunded the differences, and the mall confirmed them.
    refunds = session.execute(
        select(PromotionRefund.status, func.count()).group_by(PromotionRefund.status)
    ).all()
    assert dict(refunds).get("confirmed", 0) > 0
    events = session.scalar(select(func.count()).where(OutboxEvent.event == "Tiered Price Joined"))
    assert events == session.scalar(select(func.count(TieredParticipant.id)))
