"""Guides, stores and teams pages, and handovers (离职继承 / 在职转接) from the console."""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, StringConstraints
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.console.web import N_, allowed, render
from siyu.core.deps import SessionDep
from siyu.core.errors import NotFound, SiyuError
from siyu.core.forms import Submission, one_of, posted
from siyu.core.limits import RowId, Text, Text200
from siyu.customers.models import Customer
from siyu.staff import handover as handovers
from siyu.staff import service
from siyu.staff.models import STAFF_ROLES, Handover, Staff
from siyu.staff.routing import WARN_SHARE, capacity_warnings
from siyu.users.models import User

router = APIRouter(include_in_schema=False)
Viewer = Annotated[User, allowed("staff.view")]
Manager = Annotated[User, allowed("staff.manage")]

ROLE_LABELS = {
    "guide": N_("Shopping guide"),
    "persona": N_("Persona account"),
    "assistant": N_("Assistant"),
    "manager": N_("Manager"),
}
STRATEGY_LABELS = {
    "least_loaded": N_("Least loaded first"),
    "round_robin": N_("In turn"),
    "by_store": N_("Guides of the customer's store"),
}
STATUS_LABELS = {
    "pending": N_("waiting for WeCom"),
    "succeeded": N_("moved"),
    "failed": N_("failed"),
    "refused": N_("refused by the customer"),
}
REASON_LABELS = {"leaving": N_("Leaving (离职继承)"), "moving": N_("Moving on (在职转接)")}


class StaffChange(BaseModel):
    """A guide's row on the staff page: role, store, team, contact limit and contact way."""

    role: Annotated[str, one_of(STAFF_ROLES)] = "guide"
    store_id: RowId | None = None
    team: Text200 = ""
    contact_limit: Annotated[int, Ge(0), Le(1_000_000)] | None = None
    contact_way_url: Annotated[Text, StringConstraints(max_length=1000)] = ""


def _customers_by_staff(session: Session) -> dict[int, int]:
    rows = session.execute(
        select(Customer.owner_id, func.count(Customer.id))
        .where(Customer.owner_id.is_not(None), Customer.merged_into_id.is_(None))
        .group_by(Customer.owner_id)
    )
    return {owner: count for owner, count in rows if owner is not None}


def _staff_page(request: Request, session: Session, status_code: int = 200, **context):
    return render(
        request,
        "staff_list.html",
        status_code=status_code,
        staff=service.list_staff(session),
        stores={s.id: s for s in service.list_stores(session)},
        teams={t.id: t for t in service.list_teams(session)},
        customers=_customers_by_staff(session),
        warnings=capacity_warnings(session),
        warn_share=WARN_SHARE,
        roles=STAFF_ROLES,
        role_labels=ROLE_LABELS,
        **context,
    )


@router.get("/staff", response_class=HTMLResponse)
def staff_page(request: Request, session: SessionDep, _: Viewer, done: str = ""):
    return _staff_page(request, session, done=done)


# --- handovers ------------------------------------------------------------------------------


def _handovers_page(request: Request, session: Session, status_code: int = 200, **context):
    made = handovers.handovers(session)
    staff = {s.id: s for s in service.list_staff(session)}
    return render(
        request,
        "staff_handovers.html",
        status_code=status_code,
        handovers=made,
        counts=handovers.move_counts(session, [h.id for h in made]),
        staff=staff,
        customers=_customers_by_staff(session),
        pool=handovers.pool(session),
        strategies=handovers.STRATEGIES,
        strategy_labels=STRATEGY_LABELS,
        status_labels=STATUS_LABELS,
        reason_labels=REASON_LABELS,
        **context,
    )


@router.get("/staff/handovers", response_class=HTMLResponse)
def handovers_page(request: Request, session: SessionDep, _: Viewer, done: str = ""):
    return _handovers_page(request, session, done=done)


class NewHandover(BaseModel):
    """The handover form: whose customers move, why, and to whom (a rule or one guide)."""

    from_staff_id: RowId
    reason: Annotated[str, one_of(handovers.REASONS)] = "leaving"
    strategy: Annotated[str, one_of(handovers.STRATEGIES)] = "least_loaded"
    to_staff_id: RowId | None = None


@router.post("/staff/handovers", response_class=HTMLResponse)
def start_handover(
    request: Request,
    session: SessionDep,
    user: Manager,
    form: Annotated[Submission[NewHandover], posted(NewHandover)],
):
    if form.data is None:
        return _handovers_page(request, session, 400, form=form)
    new = form.data
    try:
        made = handovers.hand_over(
            session,
            new.from_staff_id,
            new.to_staff_id if new.to_staff_id is not None else new.strategy,
            new.reason,
            f"user:{user.email}",
        )
    except SiyuError as error:
        session.rollback()
        return _handovers_page(request, session, error.status, form=form.refuse(error))
    return RedirectResponse(f"/staff/handovers/{made.id}", status_code=303)


@router.post("/staff/handovers/retry")
def retry_pool(session: SessionDep, user: Manager):
    handovers.retry_pool(session, f"user:{user.email}")
    return RedirectResponse("/staff/handovers?done=retried", status_code=303)


@router.get("/staff/handovers/{handover_id}", response_class=HTMLResponse)
def handover_page(request: Request, session: SessionDep, _: Viewer, handover_id: RowId):
    made = session.get(Handover, handover_id)
    if made is None:
        raise NotFound(N_("no such handover"), field="handover_id")
    moves = handovers.moves_of(session, handover_id)
    ids = {m.to_staff_id for m in moves} | {made.from_staff_id}
    staff = {s.id: s for s in session.scalars(select(Staff).where(Staff.id.in_(ids)))}
    return render(
        request,
        "staff_handover.html",
        handover=made,
        moves=moves,
        staff=staff,
        counts=handovers.move_counts(session, [handover_id]).get(handover_id, {}),
        status_labels=STATUS_LABELS,
        strategy_labels=STRATEGY_LABELS,
        reason_labels=REASON_LABELS,
    )


# Declared last: /staff/{staff_id} would otherwise catch /staff/handovers.
@router.post("/staff/{staff_id}", response_class=HTMLResponse)
def update_staff(
    request: Request,
    session: SessionDep,
    _: Manager,
    staff_id: int,
    form: Annotated[Submission[StaffChange], posted(StaffChange)],
):
    if form.data is None:
        return _staff_page(request, session, 400, form=form, edited=staff_id)
    change = form.data
    try:
        fields = {
            "role": change.role,
            "store_id": change.store_id,
            "contact_limit": change.contact_limit,
            "contact_way_url": change.contact_way_url.strip() or None,
            "team_id": service.create_team(session, change.team).id
            if change.team.strip()
            else None,
        }
        service.update_staff(session, staff_id, **fields)
    except SiyuError as error:
        session.rollback()
        return _staff_page(request, session, error.status, form=form.refuse(error), edited=staff_id)
    return RedirectResponse("/staff?done=saved", status_code=303)
