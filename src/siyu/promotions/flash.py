"""Flash sales (限时限量): a product at a price, so many units, so many each, between two moments.
A customer's units are held by a reservation until its order confirms them or the hold lapses;
lapsed, cancelled and refunded units go to the waiting list first, in the order customers joined.

Every counter moves by one conditional statement, never by a read and a write: the customer's
count by `INSERT … ON CONFLICT … DO UPDATE … WHERE quantity + n <= per_customer`, the stock by
`UPDATE … WHERE held + sold + n <= stock`. Rows are locked in one order everywhere (reservations,
waiters, buyers by customer id, the sale last), so two PostgreSQL transactions never wait on each
other in a circle; the sale's row, which every reservation updates, is updated last, just before
the commit, so its lock is held as briefly as possible."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import orjson
from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.core.db import insert_for, rowcount, table_of, utcnow
from siyu.core.errors import Conflict, NotFound, SiyuError
from siyu.core.i18n import N_
from siyu.promotions import activities, tier_prices
from siyu.promotions.models import FlashBuyer, FlashReservation, FlashSale, FlashWaiter

log = logging.getLogger("siyu.promotions.flash")

RESERVED, LAPSED = "Flash Sale Reserved", "Flash Sale Lapsed"
ORDER_COMPLETED, ORDER_REFUNDED = "Order Completed", "Order Refunded"
LAPSE_KIND = "promotions.flash_lapse"
MAX_UNITS = 10_000_000
MAX_HOLD_MINUTES = 1440


class OverLimit(SiyuError):
    """More units than the customer may have in this sale."""

    status = 422
    code = "over_limit"


class Returned(NamedTuple):
    """Units a reservation gives back: its customer's count goes down by `quantity`."""

    customer_id: int
    quantity: int


# --- sales ---------------------------------------------------------------------------------------


def create_sale(
    session: Session,
    key: str,
    name: str,
    product: str,
    price_fen: int,
    stock: int,
    per_customer: int,
    starts_at: datetime,
    ends_at: datetime,
    hold_minutes: int = 15,
    list_price_fen: int | None = None,
    actor: str = "",
) -> FlashSale:
    """A new sale; every value is checked and a bad one is named."""
    activities.check_price(price_fen)
    if list_price_fen is not None:
        activities.check_price(list_price_fen, "list_price")
    activities.check_range(stock, 1, MAX_UNITS, "stock")
    activities.check_range(per_customer, 1, MAX_UNITS, "per_customer")
    activities.check_range(hold_minutes, 1, MAX_HOLD_MINUTES, "hold_minutes")
    described = activities.check_activity(
        session, FlashSale, key, name, product, starts_at, ends_at
    )
    sale = FlashSale(
        key=key,
        name=described.name,
        product=described.product,
        price_fen=price_fen,
        list_price_fen=list_price_fen,
        stock=stock,
        per_customer=per_customer,
        hold_minutes=hold_minutes,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=actor,
    )
    activities.add_activity(session, sale)
    return sale


def find_sale(session: Session, key: str) -> FlashSale:
    sale = session.scalar(select(FlashSale).where(FlashSale.key == key))
    if sale is None:
        raise NotFound(N_("no flash sale has the key %(key)s"), field="key", params={"key": key})
    return sale


def list_sales(session: Session, limit: int = 200) -> list[FlashSale]:
    return list(session.scalars(select(FlashSale).order_by(FlashSale.id.desc()).limit(limit)))


def pause(session: Session, key: str) -> FlashSale:
    """No new reservations until it is resumed; held ones may still be confirmed."""
    return _move(session, key, "paused", frm=("active", "paused"))


def resume(session: Session, key: str) -> FlashSale:
    return _move(session, key, "active", frm=("active", "paused"))


def end(session: Session, key: str) -> FlashSale:
    """No new reservations, for good; held ones may still be confirmed until they lapse."""
    return _move(session, key, "ended", frm=("active", "paused", "ended"))


def _move(session: Session, key: str, status: str, frm: tuple[str, ...]) -> FlashSale:
    sale = find_sale(session, key)
    if sale.status not in frm:
        raise Conflict(N_("the sale is %(status)s"), field="status", params={"status": sale.status})
    sale.status = status
    session.flush()
    return sale


def is_live(sale: FlashSale, now: datetime | None = None) -> bool:
    """Whether it takes reservations at `now`: active, and between its start and its end."""
    now = now or utcnow()
    return sale.status == "active" and sale.starts_at <= now < sale.ends_at


def summary(sale: FlashSale, now: datetime | None = None) -> dict[str, Any]:
    """The sale and its counts: held (reserved, not yet confirmed), sold, and what is left."""
    return {
        "key": sale.key,
        "name": sale.name,
        "product": sale.product,
        "price_fen": sale.price_fen,
        "list_price_fen": sale.list_price_fen,
        "stock": sale.stock,
        "held": sale.held,
        "sold": sale.sold,
        "available": max(0, sale.stock - sale.held - sale.sold),
        "per_customer": sale.per_customer,
        "hold_minutes": sale.hold_minutes,
        "starts_at": sale.starts_at,
        "ends_at": sale.ends_at,
        "status": sale.status,
        "live": is_live(sale, now),
    }


def waiting(session: Session, sale: FlashSale) -> int:
    """How many customers wait for units to come back."""
    mine = (FlashWaiter.sale_id == sale.id, FlashWaiter.status == "waiting")
    return session.scalar(select(func.count()).select_from(FlashWaiter).where(*mine)) or 0


# --- reservations --------------------------------------------------------------------------------


def reserve(
    session: Session,
    key: str,
    customer_ref: str | int,
    quantity: int = 1,
    now: datetime | None = None,
) -> FlashReservation:
    """Hold `quantity` units for the customer until the sale's hold time runs out."""
    now = now or utcnow()
    sale = find_sale(session, key)
    _check_live(sale, now)
    customer = activities.payer(session, customer_ref)
    _check_quantity(sale, quantity)
    if sale.held + sale.sold + quantity > sale.stock:  # as last committed: spares the writes
        raise _sold_out()
    if not _count_up(session, sale, customer.id, quantity):
        raise _over_limit(sale)
    reservation = _add_reservation(session, sale, customer.id, quantity, now)
    tier_prices.price_reservation(session, sale, reservation)  # a member tier's price
    _record_reserved(session, sale, [reservation])
    if not _move_stock(session, sale, taken=quantity):  # the last statement (module docstring)
        raise _sold_out()
    return reservation


def _check_live(sale: FlashSale, now: datetime) -> None:
    if not is_live(sale, now):
        raise Conflict(
            N_("the flash sale %(key)s is not on now"),
            code="not_live",
            field="key",
            params={"key": sale.key},
        )


def _check_quantity(sale: FlashSale, quantity: int) -> None:
    if not 1 <= quantity <= sale.per_customer:
        raise _over_limit(sale)


def _over_limit(sale: FlashSale) -> OverLimit:
    return OverLimit(
        N_("at most %(limit)s per customer in this sale"),
        field="quantity",
        params={"limit": sale.per_customer},
    )


def _sold_out() -> Conflict:
    return Conflict(N_("sold out"), code="sold_out", field="key")


def _count_up(session: Session, sale: FlashSale, customer_id: int, quantity: int) -> bool:
    """Add to the customer's count if it stays within the limit: one statement."""
    table = table_of(FlashBuyer)
    statement = (
        insert_for(session, table)
        .values(sale_id=sale.id, customer_id=customer_id, quantity=quantity)
        .on_conflict_do_update(
            index_elements=[table.c.sale_id, table.c.customer_id],
            set_={"quantity": table.c.quantity + quantity},
            where=table.c.quantity + quantity <= sale.per_customer,
        )
        .returning(table.c.quantity)  # a row when counted (rowcount is -1 on psycopg)
    )
    return session.execute(statement).first() is not None


def _count_down(session: Session, sale: FlashSale, customer_id: int, quantity: int) -> None:
    session.execute(
        update(FlashBuyer)
        .where(FlashBuyer.sale_id == sale.id, FlashBuyer.customer_id == customer_id)
        .values(quantity=FlashBuyer.quantity - quantity)
        .execution_options(synchronize_session=False)
    )


def _move_stock(
    session: Session, sale: FlashSale, taken: int = 0, back: int = 0, back_from: str = "held"
) -> bool:
    """Hold `taken` units and give `back` units (held or sold) back, in one statement that
    changes nothing when the stock would be overdrawn."""
    held, sold = FlashSale.held, FlashSale.sold
    values = (
        {"held": held - back + taken}
        if back_from == "held"
        else {"held": held + taken, "sold": sold - back}
    )
    moved = session.execute(
        update(FlashSale)
        .where(FlashSale.id == sale.id, held + sold - back + taken <= FlashSale.stock)
        .values(values)
        .execution_options(synchronize_session=False)
    )
    session.expire(sale, ["held", "sold"])
    return rowcount(moved) == 1


def _add_reservation(
    session: Session, sale: FlashSale, customer_id: int, quantity: int, now: datetime
) -> FlashReservation:
    reservation = FlashReservation(
        sale_id=sale.id,
        customer_id=customer_id,
        quantity=quantity,
        status="held",
        expires_at=now + timedelta(minutes=sale.hold_minutes),
        created_at=now,
    )
    session.add(reservation)
    session.flush()
    return reservation


def find_reservation(session: Session, sale: FlashSale, reservation_id: int) -> FlashReservation:
    reservation = session.get(FlashReservation, reservation_id)
    if reservation is None or reservation.sale_id != sale.id:
        raise NotFound(
            N_("this sale has no reservation %(id)s"),
            field="reservation",
            params={"id": reservation_id},
        )
    return reservation


def confirm(
    session: Session, key: str, reservation_id: int, order_id: str, now: datetime | None = None
) -> FlashReservation:
    """The order bought the held units. Confirming again with the same order changes nothing;
    one order confirms one reservation of a sale (a unique key)."""
    now = now or utcnow()
    sale = find_sale(session, key)
    order_id = activities.order_id(order_id)
    reservation = find_reservation(session, sale, reservation_id)
    if reservation.status == "held" and reservation.expires_at > now:
        try:
            with session.begin_nested():
                moved = session.execute(
                    update(FlashReservation)
                    .where(FlashReservation.id == reservation.id, FlashReservation.status == "held")
                    .values(status="confirmed", order_id=order_id, settled_at=now)
                )
        except IntegrityError:
            raise Conflict(
                N_("order %(order)s confirmed another reservation of this sale"),
                code="order_used",
                field="order_id",
                params={"order": order_id},
            ) from None
        if rowcount(moved) == 1:
            quantity = reservation.quantity
            session.execute(
                update(FlashSale)
                .where(FlashSale.id == sale.id)
                .values(held=FlashSale.held - quantity, sold=FlashSale.sold + quantity)
                .execution_options(synchronize_session=False)
            )
            session.expire(sale, ["held", "sold"])
            return reservation
        session.refresh(reservation)  # settled meanwhile: answer as for a settled one
    return _settled(reservation, order_id)


def _settled(reservation: FlashReservation, order_id: str) -> FlashReservation:
    if reservation.status == "confirmed" and reservation.order_id == order_id:
        return reservation
    if reservation.status in ("confirmed", "refunded"):
        raise Conflict(
            N_("the reservation was bought by another order"), code="confirmed", field="order_id"
        )
    raise Conflict(
        N_("the reservation lapsed or was cancelled: reserve again"),
        code="lapsed",
        field="reservation",
    )


def cancel(
    session: Session, key: str, reservation_id: int, now: datetime | None = None
) -> FlashReservation:
    """Let held units go before the hold runs out; a reservation let go already stays so."""
    now = now or utcnow()
    sale = find_sale(session, key)
    reservation = find_reservation(session, sale, reservation_id)
    settle = _settle(session, reservation.id, "held", "cancelled", now)
    if settle is None:
        session.refresh(reservation)
        if reservation.status in ("confirmed", "refunded"):
            raise Conflict(
                N_("the reservation was bought: refund its order instead"),
                code="confirmed",
                field="reservation",
            )
        return reservation
    _give_back(session, sale, [settle], "held", now)
    session.refresh(reservation)
    return reservation


def refund(
    session: Session, key: str, order_id: str, now: datetime | None = None
) -> FlashReservation:
    """The order was refunded: its units go back (to the waiting list first) and its customer
    may buy again. A refunded one stays refunded."""
    now = now or utcnow()
    sale = find_sale(session, key)
    order_id = activities.order_id(order_id)
    reservation = session.scalar(
        select(FlashReservation).where(
            FlashReservation.sale_id == sale.id, FlashReservation.order_id == order_id
        )
    )
    if reservation is None:
        raise NotFound(
            N_("no reservation of this sale was bought by order %(order)s"),
            field="order_id",
            params={"order": order_id},
        )
    settle = _settle(session, reservation.id, "confirmed", "refunded", now)
    if settle is not None:
        _give_back(session, sale, [settle], "sold", now)
    session.refresh(reservation)
    return reservation


def _settle(
    session: Session, reservation_id: int, frm: str, to: str, now: datetime
) -> Returned | None:
    """Move a reservation from one status to another if it still is in the first; what it gives
    back, or None when it had moved already."""
    found = session.execute(
        update(FlashReservation)
        .where(FlashReservation.id == reservation_id, FlashReservation.status == frm)
        .values(status=to, settled_at=now)
        .returning(FlashReservation.customer_id, FlashReservation.quantity)
        .execution_options(synchronize_session=False)
    ).first()
    return Returned(found.customer_id, found.quantity) if found else None


# --- lapses and the waiting list -----------------------------------------------------------------


def lapse_due(session: Session, now: datetime | None = None, limit: int = 500) -> int:
    """Lapse the held reservations whose hold ran out (their units back, to the waiting list
    first), then hand units that are free to customers still waiting; how many lapsed."""
    now = now or utcnow()
    due = session.execute(
        select(FlashReservation.id, FlashReservation.sale_id)
        .where(FlashReservation.status == "held", FlashReservation.expires_at <= now)
        .order_by(FlashReservation.expires_at, FlashReservation.id)
        .limit(limit)
    ).all()
    by_sale: dict[int, list[int]] = {}
    for reservation_id, sale_id in due:
        by_sale.setdefault(sale_id, []).append(reservation_id)
    lapsed = 0
    for sale_id, ids in sorted(by_sale.items()):
        lapsed += _lapse(session, session.get_one(FlashSale, sale_id), ids, now)
    serve_waiting(session, now)
    return lapsed


def _lapse(session: Session, sale: FlashSale, ids: list[int], now: datetime) -> int:
    rows = session.execute(
        update(FlashReservation)
        .where(FlashReservation.id.in_(ids), FlashReservation.status == "held")
        .values(status="lapsed", settled_at=now)
        .returning(FlashReservation.id, FlashReservation.customer_id, FlashReservation.quantity)
        .execution_options(synchronize_session=False)
    ).all()
    if not rows:
        return 0
    _record(
        session,
        LAPSED,
        sale,
        [(row.id, row.customer_id, row.quantity, now) for row in rows],
        now,
    )
    _give_back(session, sale, [Returned(r.customer_id, r.quantity) for r in rows], "held", now)
    return len(rows)


def serve_waiting(session: Session, now: datetime | None = None) -> int:
    """Free units of live sales to the customers waiting for them (units that came back while a
    sale was paused, or that a waiter who had meanwhile bought could not take); how many were
    served."""
    now = now or utcnow()
    free = session.scalars(
        select(FlashSale).where(
            FlashSale.status == "active",
            FlashSale.starts_at <= now,
            FlashSale.ends_at > now,
            FlashSale.held + FlashSale.sold < FlashSale.stock,
            exists().where(FlashWaiter.sale_id == FlashSale.id, FlashWaiter.status == "waiting"),
        )
    ).all()
    served = 0
    for sale in free:
        spare = sale.stock - sale.held - sale.sold
        try:
            with session.begin_nested():
                served += len(_give_back(session, sale, [], "held", now, spare=spare))
        except SiyuError:  # a reservation took the units first: the next round tries again
            continue
    return served


def _give_back(
    session: Session,
    sale: FlashSale,
    returned: list[Returned],
    back_from: str,
    now: datetime,
    spare: int = 0,
) -> list[FlashReservation]:
    """Units back from reservations (their customers' counts down) and to the waiting list in
    the order customers joined, by the reserve path: each served waiter's count up and a
    reservation made. The stock moves once, last."""
    back = sum(r.quantity for r in returned)
    claimed = _claim_waiters(session, sale, back + spare) if is_live(sale, now) else []
    changes: list[tuple[int, int, int, FlashWaiter | None]]
    changes = [(r.customer_id, 0, r.quantity, None) for r in returned]
    changes += [(w.customer_id, 1, w.quantity, w) for w in claimed]
    served: list[FlashReservation] = []
    for customer_id, _, quantity, waiter in sorted(changes, key=lambda c: c[:2]):
        if waiter is None:
            _count_down(session, sale, customer_id, quantity)
        elif _count_up(session, sale, customer_id, quantity):
            reservation = _add_reservation(session, sale, customer_id, quantity, now)
            waiter.reservation_id = reservation.id
            served.append(reservation)
        else:  # bought their share meanwhile
            waiter.status = "left"
    session.flush()
    _record_reserved(session, sale, served, from_waitlist=True)
    if not _move_stock(session, sale, sum(r.quantity for r in served), back, back_from):
        raise _sold_out()
    return served


def _claim_waiters(session: Session, sale: FlashSale, units: int) -> list[FlashWaiter]:
    """The first waiters whose quantities fit in `units`, marked served (a waiter another
    transaction serves first is skipped); the first who does not fit stops the line."""
    if units <= 0:
        return []
    line = session.scalars(
        select(FlashWaiter)
        .where(FlashWaiter.sale_id == sale.id, FlashWaiter.status == "waiting")
        .order_by(FlashWaiter.created_at, FlashWaiter.id)
        .limit(units + 50)
    ).all()
    claimed = []
    for waiter in line:
        if waiter.quantity > units:
            break
        taken = session.execute(
            update(FlashWaiter)
            .where(FlashWaiter.id == waiter.id, FlashWaiter.status == "waiting")
            .values(status="served")
        )
        if rowcount(taken) == 1:
            claimed.append(waiter)
            units -= waiter.quantity
        if units == 0:
            break
    return claimed


def join_waitlist(
    session: Session,
    key: str,
    customer_ref: str | int,
    quantity: int = 1,
    now: datetime | None = None,
) -> FlashWaiter:
    """Wait for units of a sold-out sale: the first units that come back (a hold that lapsed,
    a reservation cancelled, an order refunded) are reserved for waiters in the order they
    joined. Someone already waiting is refused; someone served or left joins again at the end."""
    now = now or utcnow()
    sale = find_sale(session, key)
    if sale.status == "ended" or now >= sale.ends_at:
        raise Conflict(N_("the flash sale is over"), code="not_live", field="key")
    customer = activities.payer(session, customer_ref)
    _check_quantity(sale, quantity)
    if sale.held + sale.sold + quantity <= sale.stock:
        raise Conflict(N_("units are left: reserve them instead"), code="not_sold_out", field="key")
    counted = session.scalar(
        select(FlashBuyer.quantity).where(
            FlashBuyer.sale_id == sale.id, FlashBuyer.customer_id == customer.id
        )
    )
    if (counted or 0) + quantity > sale.per_customer:
        raise _over_limit(sale)
    waiter = session.scalar(
        select(FlashWaiter).where(
            FlashWaiter.sale_id == sale.id, FlashWaiter.customer_id == customer.id
        )
    )
    if waiter is not None and waiter.status == "waiting":
        raise _waiting_already()
    if waiter is not None:
        waiter.status, waiter.quantity, waiter.reservation_id = "waiting", quantity, None
        waiter.created_at = now
        session.flush()
        return waiter
    waiter = FlashWaiter(
        sale_id=sale.id, customer_id=customer.id, quantity=quantity, created_at=now
    )
    try:
        with session.begin_nested():
            session.add(waiter)
    except IntegrityError:  # the same customer, at the same moment
        raise _waiting_already() from None
    return waiter


def _waiting_already() -> Conflict:
    return Conflict(
        N_("the customer is on the waiting list already"),
        code="already_waiting",
        field="customer",
    )


def place(session: Session, waiter: FlashWaiter) -> int:
    """A waiting customer's place in the line (1 is next)."""
    ahead = session.scalar(
        select(func.count())
        .select_from(FlashWaiter)
        .where(
            FlashWaiter.sale_id == waiter.sale_id,
            FlashWaiter.status == "waiting",
            or_(
                FlashWaiter.created_at < waiter.created_at,
                and_(FlashWaiter.created_at == waiter.created_at, FlashWaiter.id < waiter.id),
            ),
        )
    )
    return (ahead or 0) + 1


# --- events --------------------------------------------------------------------------------------


def _record_reserved(
    session: Session,
    sale: FlashSale,
    reservations: list[FlashReservation],
    from_waitlist: bool = False,
) -> None:
    rows = [(r.id, r.customer_id, r.quantity, r.created_at) for r in reservations]
    _record(session, RESERVED, sale, rows, utcnow(), {"waitlist": True} if from_waitlist else {})


def _record(
    session: Session,
    event: str,
    sale: FlashSale,
    rows: list[tuple[int, int, int, datetime]],
    now: datetime,
    extra: dict[str, Any] | None = None,
) -> None:
    """One event per (reservation id, customer id, quantity, time), keyed by the reservation."""
    prefix = event.lower().replace(" ", "-")
    happened = [
        activities.Happened(
            f"{prefix}-{sale.id}-{reservation_id}",
            customer_id,
            {
                "flash_sale": sale.key,
                "product": sale.product,
                "price": sale.price_fen / 100,
                "quantity": quantity,
                "reservation": reservation_id,
                **(extra or {}),
            },
            at,
        )
        for reservation_id, customer_id, quantity, at in rows
    ]
    activities.record(session, event, now, happened)


def apply_orders(session: Session, rows: list[dict[str, Any]]) -> None:
    """An `Order Completed` naming a flash sale (`flash_sale`: its key) and a reservation
    (`reservation`: its id) confirms the reservation; an `Order Refunded` naming the sale
    returns the order's units. A subscriber of events' one writer: an order that cannot be
    applied is logged and skipped, never a reason to refuse the event."""
    for row in rows:
        if row["event"] not in (ORDER_COMPLETED, ORDER_REFUNDED) or row["type"] != "track":
            continue
        if "flash_sale" not in row["properties"]:  # JSON text: most orders are not flash sales
            continue
        properties = orjson.loads(row["properties"])
        try:
            with session.begin_nested():
                _apply_order(session, row["event"], properties, row["timestamp"])
        except (SiyuError, KeyError, TypeError, ValueError) as error:
            log.warning(
                "flash sale %r: order %r not applied: %s",
                properties.get("flash_sale"),
                properties.get("order_id"),
                error,
            )


def _apply_order(session: Session, event: str, properties: dict, at: datetime) -> None:
    key, order_id = str(properties["flash_sale"]), str(properties["order_id"])
    if event == ORDER_COMPLETED:
        confirm(session, key, int(properties["reservation"]), order_id, now=at)
    else:
        refund(session, key, order_id, now=at)


def lapse_job(session: Session, payload: dict) -> None:
    """Lapse the flash-sale holds that ran out and hand their units to the waiting lists."""
    lapse_due(session)
