"""A group buy (拼团) in the console: its form, its page with the open groups (members and time
left) refreshed every few seconds, the groups that succeeded or failed, the refunds owed and
confirmed, the orders and GMV, a chart of groups per day, and pause / resume / end."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from siyu.console.pages.promotions_fields import Fen, LocalTime, StatusForm, status_changed, zone
from siyu.console.pages.promotions_flash import PHASE_LABELS
from siyu.console.web import N_, allowed, render
from siyu.core.db import utcnow
from siyu.core.deps import SessionDep
from siyu.core.errors import SiyuError
from siyu.core.forms import Submission, posted
from siyu.core.limits import Text64, Text200
from siyu.promotions import activity_results as results
from siyu.promotions import group_buys, refunds
from siyu.promotions.models import GroupBuy
from siyu.users.models import User

router = APIRouter(include_in_schema=False)
Viewer = Annotated[User, allowed("promotions.view")]
Manager = Annotated[User, allowed("promotions.manage")]

GROUP_LABELS = {
    "open": N_("Filling"),
    "succeeded": N_("Succeeded"),
    "failed": N_("Failed, refunded"),
}


def phase(status: str, starts_at: datetime, ends_at: datetime) -> str:
    """An activity's phase as an operator reads it: its status, and for an active one where
    now falls (the flash sales' labels)."""
    if status != "active":
        return "ended" if status == "closed" else status
    now = utcnow()
    if now < starts_at:
        return "scheduled"
    return "live" if now < ends_at else "over"


def group_buy_row(session: Session, activity: GroupBuy) -> dict[str, Any]:
    """The group buy's summary (group_buys.summary) with its phase, for the overview."""
    return {
        "a": activity,
        "phase": phase(activity.status, activity.starts_at, activity.ends_at),
        **group_buys.summary(session, activity),
    }


class GroupBuyForm(BaseModel):
    """A group buy: one product at a price for groups of `size` that fill within `hours`,
    between a start and an end in the brand's time; the house may fill a short group."""

    key: Text64
    name: Text200
    product: Text64
    price: Fen
    size: int = Field(ge=2, le=group_buys.MAX_SIZE)
    hours: int = Field(24, ge=1, le=group_buys.MAX_HOURS)
    robot_fill: bool = False  # a checkbox: unticked is not sent
    starts_at: LocalTime
    ends_at: LocalTime


GROUP_FIELDS = tuple(GroupBuyForm.model_fields)
NEW_GROUP_BUY = {"size": "3", "hours": "24"}


def _form(request: Request, form: Submission[GroupBuyForm] | None, status_code: int = 200):
    return render(
        request,
        "promotions_group_new.html",
        status_code=status_code,
        form=form,
        v=form.values if form else NEW_GROUP_BUY,
        fields=GROUP_FIELDS,
        zone=zone().key,
    )


@router.get("/promotions/group-buys/new", response_class=HTMLResponse)
def new_group_buy(request: Request, user: Manager):
    return _form(request, None)


@router.post("/promotions/group-buys", response_class=HTMLResponse)
def create_group_buy(
    request: Request,
    session: SessionDep,
    user: Manager,
    form: Annotated[Submission[GroupBuyForm], posted(GroupBuyForm)],
):
    if form.data is None:
        return _form(request, form, 400)
    data = form.data
    try:
        made = group_buys.create_group_buy(
            session,
            data.key.strip(),
            data.name,
            data.product,
            data.price,
            data.size,
            data.hours,
            data.starts_at,
            data.ends_at,
            robot_fill=data.robot_fill,
            actor=f"user:{user.email}",
        )
    except SiyuError as error:
        session.rollback()
        return _form(request, form.refuse(error), error.status)
    return RedirectResponse(f"/promotions/group-buys/{made.key}?done=created", status_code=303)


def _live(session: Session, activity: GroupBuy) -> dict[str, Any]:
    """What the page's live part shows: counts, open groups, the latest closed ones, refunds."""
    return {
        "g": group_buy_row(session, activity),
        "now": utcnow(),
        "open_groups": results.groups(session, activity, open_ones=True),
        "closed_groups": results.groups(session, activity, open_ones=False),
        "orders": results.group_orders(session, activity),
        "refunds": results.refunds(session, refunds.GROUP_BUY, activity.key),
        "group_labels": GROUP_LABELS,
        "phase_labels": PHASE_LABELS,
    }


def _page(request: Request, session: Session, key: str, status_code: int = 200, **context: Any):
    activity = group_buys.find_group_buy(session, key)
    return render(
        request,
        "promotions_group.html",
        status_code=status_code,
        chart=results.daily_groups(session, activity),
        **_live(session, activity),
        **context,
    )


@router.get("/promotions/group-buys/{activity_key}", response_class=HTMLResponse)
def group_buy_page(
    request: Request, session: SessionDep, user: Viewer, activity_key: Text64, done: str = ""
):
    return _page(request, session, activity_key, done=done)


@router.get("/promotions/group-buys/{activity_key}/live", response_class=HTMLResponse)
def group_buy_live(request: Request, session: SessionDep, user: Viewer, activity_key: Text64):
    """The page's live part alone, which it asks for every few seconds."""
    activity = group_buys.find_group_buy(session, activity_key)
    return render(request, "promotions_group_live.html", **_live(session, activity))


MOVES = {"paused": group_buys.pause, "active": group_buys.resume, "ended": group_buys.end}


@router.post("/promotions/group-buys/{activity_key}/status")
def group_buy_status(
    request: Request,
    session: SessionDep,
    user: Manager,
    activity_key: Text64,
    form: Annotated[Submission[StatusForm], posted(StatusForm)],
) -> Response:
    return status_changed(
        session,
        form,
        lambda status: MOVES[status](session, activity_key),
        lambda code, **context: _page(request, session, activity_key, code, **context),
        f"/promotions/group-buys/{activity_key}",
    )
