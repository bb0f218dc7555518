"""Orders that arrive as events take group-buy and tiered places: `Order Completed` with
`group_buy` opens a group (or joins the one in `group`), with `tiered` takes part; a second
delivery of an order takes nothing more, and what cannot be taken is stored, not applied."""

from __future__ import annotations

from sqlalchemy import select

from siyu.core.db import unit_of_work
from siyu.events.models import OutboxEvent
from siyu.events.service import ingest
from siyu.events.sources import internal_source
from siyu.promotions.models import BuyGroup, GroupMember, TieredParticipant
from tests.helpers import track
from tests.promotions.test_flash_sales import people
from tests.promotions.test_group_buys import NOON, group_buy
from tests.promotions.test_tiered import activity


def order(user: str, number: str, message_id: str | None = None, **properties) -> None:
    body = {"order_id": number, "revenue": 59, **properties}
    event = track("Order Completed", user, properties=body, timestamp=NOON.isoformat())
    if message_id:
        event["messageId"] = message_id
    with unit_of_work() as s:
        assert ingest(s, internal_source(s, "mall"), [event], NOON).accepted == 1


def _groups() -> list[tuple[int, int, str]]:
    with unit_of_work() as s:
        return [(g.leader_id, g.members, g.status) for g in s.scalars(select(BuyGroup))]


def test_orders_open_a_group_and_fill_it_and_a_repeat_takes_no_second_place():
    ids = people(4)
    group_buy(size=2)
    order("b0", "SO-1", group_buy="duo")  # opens a group: b0 leads it
    with unit_of_work() as s:
        code = s.scalar(select(BuyGroup.code))
    order("b1", "SO-2", group_buy="duo", group=code)  # fills it
    order("b1", "SO-2", message_id="again", group_buy="duo", group=code)  # the mall sends again
    order("b2", "SO-3", group_buy="duo", group=code)  # a full group takes no more
    assert _groups() == [(ids[0], 2, "succeeded")]
    with unit_of_work() as s:
        members = s.execute(select(GroupMember.customer_id, GroupMember.order_id)).all()
        stored = s.scalar(select(OutboxEvent.id).where(OutboxEvent.properties.contains('"SO-3"')))
    assert sorted(members) == [(ids[0], "SO-1"), (ids[1], "SO-2")]
    assert stored is not None  # the refused order is still the customer's order


def test_an_order_naming_a_tiered_price_takes_part_at_the_current_price():
    ids = people(2)
    activity()
    order("b0", "SO-1", tiered="steps")
    order("b0", "SO-9", tiered="steps")  # a customer takes part once
    order("b1", "SO-2", tiered="steps")
    with unit_of_work() as s:
        taken = s.execute(
            select(
                TieredParticipant.customer_id,
                TieredParticipant.order_id,
                TieredParticipant.place,
                TieredParticipant.price_fen,
            ).order_by(TieredParticipant.place)
        ).all()
    assert [tuple(t) for t in taken] == [(ids[0], "SO-1", 1, 9900), (ids[1], "SO-2", 2, 9900)]
