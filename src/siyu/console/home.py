"""The home page: what this Siyu holds right now (the full console comes later)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from siyu.console.web import Allowed, render
from siyu.core import meta
from siyu.core.deps import SessionDep
from siyu.customers.models import Customer
from siyu.events import shipper
from siyu.events.models import OutboxEvent, Source
from siyu.orders.models import Order
from siyu.touchpoints.models import Touchpoint

router = APIRouter(include_in_schema=False)


def summary(session) -> dict:
    orders, gmv = session.execute(
        select(
            func.count(Order.id), func.coalesce(func.sum(Order.amount_fen - Order.refunded_fen), 0)
        )
    ).one()
    return {
        "customers": session.scalar(
            select(func.count(Customer.id)).where(Customer.merged_into_id.is_(None))
        ),
        "events_recent": session.scalar(select(func.count(OutboxEvent.id))),
        "orders": orders,
        "gmv_fen": int(gmv),
        "touchpoints": session.scalar(select(func.count(Touchpoint.id))),
        "sources": session.scalar(select(func.count(Source.id))),
        "lake": shipper.status(session),
        "demo": meta.read(session, "demo"),
    }


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, user: Allowed("dashboard.view")):
    return render(request, "home.html", s=summary(session))


@router.get("/healthz")
def health() -> dict:
    return {"ok": True}
