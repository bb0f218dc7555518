"""Flash sales' API (限时限量): the mall reserves, confirms and cancels at checkout (`mall`
tokens, each write once per `Idempotency-Key`), and puts customers on a sold-out sale's waiting
list; the mall and the brand's readers see what is left."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from siyu.core.deps import SessionDep
from siyu.core.limits import RowId, Text64
from siyu.promotions import flash, tier_prices
from siyu.promotions.checkout import (
    Checkout,
    CustomerRef,
    IdempotencyKey,
    Looker,
    OrderId,
    answered,
)
from siyu.promotions.models import FlashReservation, FlashSale, FlashWaiter

router = APIRouter(prefix="/api/flash-sales", tags=["promotions"])
Quantity = Annotated[int, Field(ge=1, le=flash.MAX_UNITS)]
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such sale, reservation or customer (`field` says which)."},
    409: {"description": "Sold out, not on now, lapsed, or already done another way (`code`)."},
    422: {"description": "More than the customer may have (`over_limit`), or a bad body."},
}


class SaleOut(BaseModel):
    key: str
    name: str
    product: str
    price: float = Field(description="Yuan.")
    list_price: float | None = Field(description="The usual price, in yuan.")
    stock: int
    held: int = Field(description="In reservations not yet confirmed.")
    sold: int = Field(description="In confirmed reservations.")
    available: int
    per_customer: int
    hold_minutes: int
    starts_at: datetime
    ends_at: datetime
    status: str = Field(description="active, paused or ended")
    live: bool = Field(description="Whether it takes reservations now.")
    waiting: int = Field(description="Customers on the waiting list.")


class ReservationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer: CustomerRef
    quantity: Quantity = 1


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: OrderId


class WaiterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer: CustomerRef
    quantity: Quantity = 1


def reservation_body(sale: FlashSale, reservation: FlashReservation) -> dict[str, Any]:
    """A reservation as the API answers it (stored as JSON with its idempotency key)."""
    return {
        "id": reservation.id,
        "sale": sale.key,
        "product": sale.product,
        "customer_id": reservation.customer_id,
        "quantity": reservation.quantity,
        "status": reservation.status,
        "expires_at": reservation.expires_at.isoformat(),
        "order_id": reservation.order_id,
        "price": sale.price_fen / 100,
        "price_fen": sale.price_fen,
    }


def _reservation_answer(
    session: Session, reservation: FlashReservation, status: int = 200
) -> tuple[int, dict[str, Any]]:
    sale = session.get_one(FlashSale, reservation.sale_id)
    price = tier_prices.reservation_price(session, sale, reservation.id)  # a member tier's
    return status, {**reservation_body(sale, reservation), "price": price / 100, "price_fen": price}


@router.get("/{sale_key}", summary="A flash sale and what is left of it", responses=ERRORS)
def show(sale_key: Text64, session: SessionDep, token: Looker) -> SaleOut:
    sale = flash.find_sale(session, sale_key)
    numbers = flash.summary(sale)
    return SaleOut(
        **{k: v for k, v in numbers.items() if not k.endswith("_fen")},
        price=sale.price_fen / 100,
        list_price=sale.list_price_fen / 100 if sale.list_price_fen else None,
        waiting=flash.waiting(session, sale),
    )


@router.post(
    "/{sale_key}/reservations",
    status_code=201,
    summary="Hold units for a customer until the sale's hold time runs out",
    responses=ERRORS,
)
def reserve(
    sale_key: Text64,
    body: ReservationIn,
    request: Request,
    token: Checkout,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    def act(session: Session) -> tuple[int, dict[str, Any]]:
        reservation = flash.reserve(session, sale_key, body.customer, body.quantity)
        return _reservation_answer(session, reservation, 201)

    return answered(token, idempotency_key, request, body, act)


@router.post(
    "/{sale_key}/reservations/{reservation_id}/confirm",
    summary="The order bought the held units (the same order again changes nothing)",
    responses=ERRORS,
)
def confirm(
    sale_key: Text64,
    reservation_id: RowId,
    body: ConfirmIn,
    request: Request,
    token: Checkout,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    def act(session: Session) -> tuple[int, dict[str, Any]]:
        reservation = flash.confirm(session, sale_key, reservation_id, body.order_id)
        return _reservation_answer(session, reservation)

    return answered(token, idempotency_key, request, body, act)


@router.post(
    "/{sale_key}/reservations/{reservation_id}/cancel",
    summary="Let held units go before the hold runs out",
    responses=ERRORS,
)
def cancel(
    sale_key: Text64,
    reservation_id: RowId,
    request: Request,
    token: Checkout,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    def act(session: Session) -> tuple[int, dict[str, Any]]:
        return _reservation_answer(session, flash.cancel(session, sale_key, reservation_id))

    return answered(token, idempotency_key, request, None, act)


@router.post(
    "/{sale_key}/waitlist",
    status_code=201,
    summary="Wait for units of a sold-out sale: the first that come back are reserved in turn",
    responses=ERRORS,
)
def join_waitlist(
    sale_key: Text64,
    body: WaiterIn,
    request: Request,
    token: Checkout,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    def act(session: Session) -> tuple[int, dict[str, Any]]:
        waiter = flash.join_waitlist(session, sale_key, body.customer, body.quantity)
        return 201, _waiter_body(session, sale_key, waiter)

    return answered(token, idempotency_key, request, body, act)


def _waiter_body(session: Session, key: str, waiter: FlashWaiter) -> dict[str, Any]:
    return {
        "id": waiter.id,
        "sale": key,
        "customer_id": waiter.customer_id,
        "quantity": waiter.quantity,
        "status": waiter.status,
        "place": flash.place(session, waiter),
    }
