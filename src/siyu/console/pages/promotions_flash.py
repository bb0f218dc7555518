"""A flash sale (限时限量) in the console: its form, its page with the stock refreshed every few
seconds (a fragment htmx asks for again), the latest reservations and the waiting list, and
pause / resume / end."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.console.pages.promotions_fields import Fen, LocalTime, StatusForm, status_changed, zone
from siyu.console.web import N_, allowed, render
from siyu.core.db import utcnow
from siyu.core.deps import SessionDep
from siyu.core.errors import SiyuError
from siyu.core.forms import Submission, posted
from siyu.core.limits import Text64, Text200
from siyu.customers.models import Customer
from siyu.profiles.service import mask_phone, mask_phones, sees_full_phones
from siyu.promotions import flash
from siyu.promotions.models import FlashReservation, FlashSale
from siyu.users.models import User

router = APIRouter(include_in_schema=False)
Viewer = Annotated[User, allowed("promotions.view")]
Manager = Annotated[User, allowed("promotions.manage")]

# A sale's phase as an operator reads it: its status, and for an active one where now falls.
PHASE_LABELS = {
    "live": N_("Live now"),
    "scheduled": N_("Not started"),
    "over": N_("Time is up"),
    "paused": N_("Paused"),
    "ended": N_("Ended"),
}
RESERVATION_LABELS = {
    "held": N_("Held"),
    "confirmed": N_("Bought"),
    "lapsed": N_("Hold ran out"),
    "cancelled": N_("Cancelled"),
    "refunded": N_("Refunded"),
}
RESERVATIONS_SHOWN = 20


def _phase(sale: FlashSale, now: datetime) -> str:
    if sale.status != "active":
        return sale.status
    if now < sale.starts_at:
        return "scheduled"
    return "live" if now < sale.ends_at else "over"


def sale_row(sale: FlashSale, now: datetime | None = None) -> dict[str, Any]:
    """The sale's summary (flash.summary) with its phase."""
    now = now or utcnow()
    return {"sale": sale, "phase": _phase(sale, now), **flash.summary(sale, now)}


class FlashForm(BaseModel):
    """A flash sale (限时限量): one product at a price, so many units, so many each, between a
    start and an end in the brand's time."""

    key: Text64
    name: Text200
    product: Text64
    price: Fen
    list_price: Fen | None = None
    stock: int = Field(ge=1, le=10_000_000)
    per_customer: int = Field(1, ge=1, le=10_000_000)
    starts_at: LocalTime
    ends_at: LocalTime
    hold_minutes: int = Field(15, ge=1, le=1440)


FLASH_FIELDS = tuple(FlashForm.model_fields)
NEW_FLASH = {"per_customer": "1", "hold_minutes": "15"}


def _flash_form(request: Request, form: Submission[FlashForm] | None, status_code: int = 200):
    return render(
        request,
        "promotions_flash_new.html",
        status_code=status_code,
        form=form,
        v=form.values if form else NEW_FLASH,
        fields=FLASH_FIELDS,
        zone=zone().key,
    )


@router.get("/promotions/flash-sales/new", response_class=HTMLResponse)
def new_flash_sale(request: Request, user: Manager):
    return _flash_form(request, None)


@router.post("/promotions/flash-sales", response_class=HTMLResponse)
def create_flash_sale(
    request: Request,
    session: SessionDep,
    user: Manager,
    form: Annotated[Submission[FlashForm], posted(FlashForm)],
):
    if form.data is None:
        return _flash_form(request, form, 400)
    data = form.data
    try:
        made = flash.create_sale(
            session,
            data.key.strip(),
            data.name,
            data.product,
            data.price,
            data.stock,
            data.per_customer,
            data.starts_at,
            data.ends_at,
            hold_minutes=data.hold_minutes,
            list_price_fen=data.list_price,
            actor=f"user:{user.email}",
        )
    except SiyuError as error:
        session.rollback()
        return _flash_form(request, form.refuse(error), error.status)
    return RedirectResponse(f"/promotions/flash-sales/{made.key}?done=created", status_code=303)


def _reservations(session: Session, sale: FlashSale, user: User) -> list[dict[str, Any]]:
    """The sale's latest reservations, each customer by name (or phone) as this user may see
    them."""
    rows = session.execute(
        select(FlashReservation, Customer.traits)
        .join(Customer, Customer.id == FlashReservation.customer_id)
        .where(FlashReservation.sale_id == sale.id)
        .order_by(FlashReservation.id.desc())
        .limit(RESERVATIONS_SHOWN)
    ).all()
    full = sees_full_phones(user.role)
    found = []
    for reservation, traits in rows:
        phone = str((traits or {}).get("phone") or "")
        name = str((traits or {}).get("name") or "")
        found.append(
            {
                "r": reservation,
                "name": name if full else mask_phones(name),
                "phone": phone if full else mask_phone(phone),
            }
        )
    return found


def _live(session: Session, sale: FlashSale, user: User) -> dict[str, Any]:
    """What the sale's live part shows: its counts, the waiting list, the latest reservations."""
    return {
        "s": sale_row(sale),
        "waiting": flash.waiting(session, sale),
        "reservations": _reservations(session, sale, user),
        "reservation_labels": RESERVATION_LABELS,
        "phase_labels": PHASE_LABELS,
    }


def _flash_page(
    request: Request, session: Session, user: User, key: str, status_code: int = 200, **context: Any
):
    sale = flash.find_sale(session, key)
    return render(
        request,
        "promotions_flash.html",
        status_code=status_code,
        **_live(session, sale, user),
        **context,
    )


@router.get("/promotions/flash-sales/{sale_key}", response_class=HTMLResponse)
def flash_sale_page(
    request: Request, session: SessionDep, user: Viewer, sale_key: Text64, done: str = ""
):
    return _flash_page(request, session, user, sale_key, done=done)


@router.get("/promotions/flash-sales/{sale_key}/live", response_class=HTMLResponse)
def flash_sale_live(request: Request, session: SessionDep, user: Viewer, sale_key: Text64):
    """The page's live part alone, which it asks for every few seconds."""
    sale = flash.find_sale(session, sale_key)
    return render(request, "promotions_flash_live.html", **_live(session, sale, user))


MOVES = {"paused": flash.pause, "active": flash.resume, "ended": flash.end}


@router.post("/promotions/flash-sales/{sale_key}/status")
def flash_sale_status(
    request: Request,
    session: SessionDep,
    user: Manager,
    sale_key: Text64,
    form: Annotated[Submission[StatusForm], posted(StatusForm)],
) -> Response:
    return status_changed(
        session,
        form,
        lambda status: MOVES[status](session, sale_key),
        lambda code, **context: _flash_page(
            request, session, user, sale_key, status_code=code, **context
        ),
        f"/promotions/flash-sales/{sale_key}",
    )
