"""A tiered price (阶梯价) in the console: its form (the steps typed one a line), its page with
the count, the current price and the next step refreshed every few seconds, a chart of the
participants per day, at the close the refunds owed and confirmed, and pause / resume / end
(ending closes it: the final price is set and the differences are refunded)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from siyu.console.pages.promotions_fields import Fen, LocalTime, StatusForm, status_changed, zone
from siyu.console.pages.promotions_flash import PHASE_LABELS
from siyu.console.pages.promotions_groups import phase
from siyu.console.web import N_, allowed, render
from siyu.core.deps import SessionDep
from siyu.core.errors import InvalidInput, SiyuError
from siyu.core.forms import Submission, posted
from siyu.core.limits import Text, Text64, Text200
from siyu.core.money import typed_fen
from siyu.promotions import activity_results as results
from siyu.promotions import refunds, tiered
from siyu.promotions.models import TieredPrice
from siyu.users.models import User

router = APIRouter(include_in_schema=False)
Viewer = Annotated[User, allowed("promotions.view")]
Manager = Annotated[User, allowed("promotions.manage")]

# "10 = 99", "10: 99", "10 99" or "10，99": participants, then the price in yuan
STEP = re.compile(r"^\s*(\d+)\s*[=:：,，\s]\s*(\S+)\s*$")


def tiered_row(activity: TieredPrice) -> dict[str, Any]:
    """The activity's summary (tiered.summary) with its phase, for the overview."""
    return {
        "a": activity,
        "phase": phase(activity.status, activity.starts_at, activity.ends_at),
        **tiered.summary(activity),
    }


def steps(text: str) -> list[tuple[int, int]]:
    """The steps as typed, one a line: participants and the price in yuan."""
    found = []
    for line in text.replace(";", "\n").replace("；", "\n").splitlines():
        if not line.strip():
            continue
        matched = STEP.match(line)
        try:
            if matched is None:
                raise ValueError(line)
            found.append((int(matched.group(1)), typed_fen(matched.group(2))))
        except ValueError:
            raise InvalidInput(
                N_("write each step on a line as participants = price, e.g. 10 = 99"),
                field="tiers",
            ) from None
    return found


class TieredForm(BaseModel):
    """A tiered price: a product at a base price that steps down as participants grow."""

    key: Text64
    name: Text200
    product: Text64
    base_price: Fen
    tiers: Text
    starts_at: LocalTime
    ends_at: LocalTime


TIERED_FIELDS = tuple(TieredForm.model_fields)


def _form(request: Request, form: Submission[TieredForm] | None, status_code: int = 200):
    return render(
        request,
        "promotions_tiered_new.html",
        status_code=status_code,
        form=form,
        v=form.values if form else {},
        fields=TIERED_FIELDS,
        zone=zone().key,
    )


@router.get("/promotions/tiered/new", response_class=HTMLResponse)
def new_tiered(request: Request, user: Manager):
    return _form(request, None)


@router.post("/promotions/tiered", response_class=HTMLResponse)
def create_tiered(
    request: Request,
    session: SessionDep,
    user: Manager,
    form: Annotated[Submission[TieredForm], posted(TieredForm)],
):
    if form.data is None:
        return _form(request, form, 400)
    data = form.data
    try:
        made = tiered.create_tiered(
            session,
            data.key.strip(),
            data.name,
            data.product,
            data.base_price,
            steps(data.tiers),
            data.starts_at,
            data.ends_at,
            actor=f"user:{user.email}",
        )
    except SiyuError as error:
        session.rollback()
        return _form(request, form.refuse(error), error.status)
    return RedirectResponse(f"/promotions/tiered/{made.key}?done=created", status_code=303)


def _live(session: Session, activity: TieredPrice) -> dict[str, Any]:
    return {
        "t": tiered_row(activity),
        "orders": results.tiered_orders(session, activity),
        "refunds": results.refunds(session, refunds.TIERED, activity.key),
        "phase_labels": PHASE_LABELS,
    }


def _page(request: Request, session: Session, key: str, status_code: int = 200, **context: Any):
    activity = tiered.find_tiered(session, key)
    return render(
        request,
        "promotions_tiered.html",
        status_code=status_code,
        chart=results.daily_participants(session, activity),
        **_live(session, activity),
        **context,
    )


@router.get("/promotions/tiered/{activity_key}", response_class=HTMLResponse)
def tiered_page(
    request: Request, session: SessionDep, user: Viewer, activity_key: Text64, done: str = ""
):
    return _page(request, session, activity_key, done=done)


@router.get("/promotions/tiered/{activity_key}/live", response_class=HTMLResponse)
def tiered_live(request: Request, session: SessionDep, user: Viewer, activity_key: Text64):
    """The page's live part alone, which it asks for every few seconds."""
    activity = tiered.find_tiered(session, activity_key)
    return render(request, "promotions_tiered_live.html", **_live(session, activity))


MOVES = {"paused": tiered.pause, "active": tiered.resume, "ended": tiered.close}


@router.post("/promotions/tiered/{activity_key}/status")
def tiered_status(
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
        f"/promotions/tiered/{activity_key}",
    )
