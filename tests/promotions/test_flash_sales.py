"""Flash sales (限时限量): the stock and each customer's limit hold, holds confirm once or lapse
back to the stock, and units that come back go to the waiting list in the order it was joined."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import select

from siyu import work
from siyu.core import jobs
from siyu.core.db import unit_of_work
from siyu.core.errors import Conflict, InvalidInput, NotFound, SiyuError
from siyu.customers.service import find_customer
from siyu.events.models import OutboxEvent
from siyu.events.service import ingest
from siyu.events.sources import internal_source
from siyu.promotions import flash
from siyu.promotions.models import FlashBuyer, FlashReservation, FlashSale, FlashWaiter
from tests.helpers import identify, track

NOON = datetime(2026, 12, 12, 4, tzinfo=UTC)  # 12:00 in Shanghai, during the sale
START, END = NOON - timedelta(hours=1), NOON + timedelta(hours=2)


def people(count: int) -> list[int]:
    """Customers known by user ids b0, b1, …, in order."""
    with unit_of_work() as s:
        ingest(s, internal_source(s, "mall"), [identify(f"b{n}") for n in range(count)], START)
        return [find_customer(s, f"b{n}").id for n in range(count)]


def sale(key: str = "double-12", **given) -> None:
    values = {
        "name": "双十二 保温杯",
        "product": "CUP-500",
        "price_fen": 9900,
        "stock": 3,
        "per_customer": 1,
        "starts_at": START,
        "ends_at": END,
    } | given
    with unit_of_work() as s:
        flash.create_sale(s, key, **values)


def reserve(customer: int | str, quantity: int = 1, key: str = "double-12", now=NOON) -> int:
    with unit_of_work() as s:
        return flash.reserve(s, key, customer, quantity, now=now).id


def numbers(key: str = "double-12", now=NOON) -> dict:
    with unit_of_work() as s:
        return flash.summary(flash.find_sale(s, key), now)


def refused(call, *args, **kwargs) -> SiyuError:
    with pytest.raises(SiyuError) as caught, unit_of_work() as s:
        call(s, *args, **kwargs)
    return caught.value


def statuses() -> dict[int, str]:
    with unit_of_work() as s:
        return dict(s.execute(select(FlashReservation.customer_id, FlashReservation.status)).all())


def counts() -> dict[int, int]:
    with unit_of_work() as s:
        return dict(s.execute(select(FlashBuyer.customer_id, FlashBuyer.quantity)).all())


def test_a_sale_names_the_value_that_is_wrong():
    good = {
        "name": "n",
        "product": "SKU",
        "price_fen": 100,
        "stock": 1,
        "per_customer": 1,
        "starts_at": START,
        "ends_at": END,
    }
    for change, field in (
        ({"key": "Not A Slug"}, "key"),
        ({"price_fen": 0}, "price"),
        ({"stock": 0}, "stock"),
        ({"per_customer": 0}, "per_customer"),
        ({"ends_at": START}, "ends_at"),
        ({"hold_minutes": 0}, "hold_minutes"),
        ({"hold_minutes": 1441}, "hold_minutes"),
        ({"product": " "}, "product"),
    ):
        error = refused(flash.create_sale, **({"key": "ok"} | good | change))
        assert (type(error), error.field) == (InvalidInput, field), change
    sale("ok")
    error = refused(flash.create_sale, "ok", **good)
    assert (type(error), error.field) == (Conflict, "key")


def test_the_stock_and_each_customers_limit_hold_and_a_refusal_changes_nothing():
    ids = people(3)
    sale(stock=3, per_customer=2)
    first = reserve(ids[0], 2)
    over = refused(flash.reserve, "double-12", ids[0], 1, now=NOON)
    assert (over.status, over.code, over.field) == (422, "over_limit", "quantity")
    sold_out = refused(flash.reserve, "double-12", ids[1], 2, now=NOON)
    assert (sold_out.status, sold_out.code, sold_out.field) == (409, "sold_out", "key")
    assert counts() == {ids[0]: 2}
    reserve("b1")  # a customer named by an identity
    assert {k: numbers()[k] for k in ("stock", "held", "sold", "available")} == {
        "stock": 3,
        "held": 3,
        "sold": 0,
        "available": 0,
    }
    with unit_of_work() as s:
        held = s.get_one(FlashReservation, first)
        assert (held.status, held.quantity) == ("held", 2)
        assert held.expires_at == NOON + timedelta(minutes=15)
        reserved = s.scalars(
            select(OutboxEvent).where(OutboxEvent.event == flash.RESERVED).order_by(OutboxEvent.id)
        ).all()
    assert sorted(orjson.loads(e.properties)["quantity"] for e in reserved) == [1, 2]
    assert orjson.loads(reserved[0].properties) == {
        "flash_sale": "double-12",
        "product": "CUP-500",
        "price": 99.0,
        "quantity": 2,
        "reservation": first,
    }


def test_only_a_live_sale_takes_reservations_and_unknowns_are_named():
    ids = people(1)
    sale()
    for now in (START - timedelta(seconds=1), END):
        error = refused(flash.reserve, "double-12", ids[0], now=now)
        assert (error.status, error.code, error.field) == (409, "not_live", "key")
    with unit_of_work() as s:
        flash.pause(s, "double-12")
    assert refused(flash.reserve, "double-12", ids[0], now=NOON).code == "not_live"
    with unit_of_work() as s:
        flash.resume(s, "double-12")
    assert refused(flash.reserve, "nope", ids[0], now=NOON).field == "key"
    unknown = refused(flash.reserve, "double-12", "nobody", now=NOON)
    assert (type(unknown), unknown.field) == (NotFound, "customer")
    assert refused(flash.reserve, "double-12", ids[0], 0, now=NOON).code == "over_limit"
    reserve(ids[0])
    with unit_of_work() as s:
        flash.end(s, "double-12")
        assert not flash.summary(flash.find_sale(s, "double-12"), NOON)["live"]


def test_an_order_confirms_a_hold_once_and_a_lapsed_hold_is_not_bought():
    ids = people(3)
    sale(stock=3)
    first, second, late = reserve(ids[0]), reserve(ids[1]), reserve(ids[2])
    with unit_of_work() as s:
        done = flash.confirm(s, "double-12", first, "SO-1", now=NOON)
        assert (done.status, done.order_id) == ("confirmed", "SO-1")
    with unit_of_work() as s:  # the same order again: the same answer
        assert flash.confirm(s, "double-12", first, "SO-1", now=NOON).status == "confirmed"
    other = refused(flash.confirm, "double-12", first, "SO-2", now=NOON)
    assert (other.status, other.code) == (409, "confirmed")
    used = refused(flash.confirm, "double-12", second, "SO-1", now=NOON)
    assert (used.status, used.code, used.field) == (409, "order_used", "order_id")
    lapsed = refused(flash.confirm, "double-12", late, "SO-3", now=NOON + timedelta(minutes=16))
    assert (lapsed.status, lapsed.code) == (409, "lapsed")
    assert refused(flash.confirm, "double-12", 999, "SO-4", now=NOON).field == "reservation"
    assert {k: numbers()[k] for k in ("held", "sold")} == {"held": 2, "sold": 1}


def test_a_cancelled_hold_gives_its_units_and_the_customers_limit_back():
    ids = people(1)
    sale(stock=1)
    first = reserve(ids[0])
    with unit_of_work() as s:
        assert flash.cancel(s, "double-12", first, now=NOON).status == "cancelled"
    with unit_of_work() as s:  # again: nothing more comes back
        assert flash.cancel(s, "double-12", first, now=NOON).status == "cancelled"
    assert (numbers()["held"], counts()) == (0, {ids[0]: 0})
    reserve(ids[0])
    assert numbers()["available"] == 0


def test_lapsed_units_go_to_the_waiting_list_in_the_order_it_was_joined():
    ids = people(6)
    sale(stock=2)
    early = refused(flash.join_waitlist, "double-12", ids[2], now=NOON)  # not sold out yet
    assert early.code == "not_sold_out"
    holds = [reserve(c) for c in ids[:2]]
    assert refused(flash.join_waitlist, "double-12", ids[0], now=NOON).code == "over_limit"
    for n, customer in enumerate((ids[4], ids[2], ids[5], ids[3])):
        with unit_of_work() as s:
            waiter = flash.join_waitlist(s, "double-12", customer, now=NOON)
            assert flash.place(s, waiter) == n + 1
    again = refused(flash.join_waitlist, "double-12", ids[2], now=NOON)
    assert (again.status, again.code) == (409, "already_waiting")
    with unit_of_work() as s:
        flash.confirm(s, "double-12", holds[1], "SO-9", now=NOON)
    later = NOON + timedelta(minutes=15)
    with unit_of_work() as s:
        assert flash.lapse_due(s, now=later) == 1
    assert {k: numbers()[k] for k in ("held", "sold", "available")} == {
        "held": 1,
        "sold": 1,
        "available": 0,
    }
    assert statuses() == {ids[0]: "lapsed", ids[1]: "confirmed", ids[4]: "held"}
    assert counts() == {ids[0]: 0, ids[1]: 1, ids[4]: 1}
    with unit_of_work() as s:
        line = s.scalars(select(FlashWaiter).order_by(FlashWaiter.created_at, FlashWaiter.id)).all()
        assert [(w.customer_id, w.status) for w in line] == [
            (ids[4], "served"),
            (ids[2], "waiting"),
            (ids[5], "waiting"),
            (ids[3], "waiting"),
        ]
        served = s.get_one(FlashReservation, line[0].reservation_id)
        assert served.expires_at == later + timedelta(minutes=15)
        lapsed = s.scalars(select(OutboxEvent).where(OutboxEvent.event == flash.LAPSED)).all()
    assert [(e.customer_id, orjson.loads(e.properties)["reservation"]) for e in lapsed] == [
        (ids[0], holds[0])
    ]


def test_order_events_confirm_and_refund_and_a_refund_serves_the_waiting_list():
    ids = people(3)
    sale(stock=1)
    hold = reserve(ids[0])
    with unit_of_work() as s:
        flash.join_waitlist(s, "double-12", ids[1], now=NOON)

    def order(event: str, reservation: int | None = hold, user: str = "b0", number="SO-7"):
        properties = {"order_id": number, "revenue": 99, "flash_sale": "double-12"}
        if reservation is not None:
            properties["reservation"] = reservation
        with unit_of_work() as s:
            result = ingest(
                s,
                internal_source(s, "mall"),
                [track(event, user, properties=properties, timestamp=NOON.isoformat())],
                NOON,
            )
            assert result.accepted == 1

    order("Order Completed")
    assert statuses()[ids[0]] == "confirmed"
    assert {k: numbers()[k] for k in ("held", "sold")} == {"held": 0, "sold": 1}
    order("Order Completed", 12345, "b2", "SO-8")  # no such hold: stored, not applied
    order("Order Refunded", reservation=None)
    assert statuses() == {ids[0]: "refunded", ids[1]: "held"}
    assert counts() == {ids[0]: 0, ids[1]: 1}
    assert {k: numbers()[k] for k in ("held", "sold")} == {"held": 1, "sold": 0}


def test_the_worker_lapses_holds_every_minute():
    ids = people(1)
    now = datetime.now(UTC)
    sale(stock=1, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=1))
    reserve(ids[0], now=now - timedelta(minutes=20))
    schedule = next(s for s in work.SCHEDULES if s.name == "flash-sale-lapse")
    assert (schedule.cron, schedule.kind) == ("* * * * *", flash.LAPSE_KIND)
    with unit_of_work() as s:
        jobs.enqueue(s, flash.LAPSE_KIND, "test-lapse")
    assert work.run_one()
    with unit_of_work() as s:
        assert s.scalar(select(jobs.Job.status)) == "done"
        assert s.scalar(select(FlashSale.held)) == 0
    assert statuses() == {ids[0]: "lapsed"}


def test_units_back_while_a_sale_is_paused_go_to_the_waiting_list_once_it_resumes():
    ids = people(2)
    sale(stock=1)
    hold = reserve(ids[0])
    with unit_of_work() as s:
        flash.join_waitlist(s, "double-12", ids[1], now=NOON)
        flash.pause(s, "double-12")
    with unit_of_work() as s:
        flash.cancel(s, "double-12", hold, now=NOON)
    assert (numbers()["available"], statuses()) == (1, {ids[0]: "cancelled"})
    with unit_of_work() as s:
        flash.resume(s, "double-12")
    with unit_of_work() as s:
        assert flash.lapse_due(s, now=NOON) == 0
    assert statuses() == {ids[0]: "cancelled", ids[1]: "held"}
    assert (numbers()["available"], counts()) == (0, {ids[0]: 0, ids[1]: 1})
