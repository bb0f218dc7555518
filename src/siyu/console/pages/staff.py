"""Guides, stores and teams pages, handovers (离职继承 / 在职转接), and giving customers a guide
by hand (one on the customer's page, a segment or a list on the assign page), without WeCom."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from siyu.console.web import N_, allowed, render
from siyu.core.deps import FormDep, SessionDep
from siyu.core.errors import InvalidInput, NotFound, SiyuError
from siyu.core.forms import Submission, one_of, posted, read_form
from siyu.core.limits import RowId, Text64, Text200
from siyu.customers import service as customers
from siyu.customers.models import Customer
from siyu.profiles import assign as assignment
from siyu.segments import service as segments
from siyu.staff import handover as handovers
from siyu.staff import service
from siyu.staff.models import STAFF_ROLES, STAFF_STATUSES, Handover, Staff
from siyu.staff.routing import WARN_SHARE, capacity_warnings
from siyu.staff.schemas import ContactLimit, ContactWayUrl
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
REASON_LABELS = {
    "leaving": N_("Leaving (离职继承)"),
    "moving": N_("Moving on (在职转接)"),
    "assign": N_("Assigned by hand"),
}
SKIP_LABELS = {
    "already_theirs": N_("already this guide's"),
    "not_found": N_("no such customer"),
    "repeated": N_("named twice"),
    "has_a_guide": N_("has an active guide"),
}


class StaffChange(BaseModel):
    """A guide's row on the staff page: name, role, store, team, state, limit and contact way."""

    name: Text200 = ""  # blank: unchanged
    status: Annotated[str, one_of(STAFF_STATUSES)] | None = None  # not sent: unchanged
    role: Annotated[str, one_of(STAFF_ROLES)] = "guide"
    store_id: RowId | None = None
    team: Text200 = ""
    contact_limit: ContactLimit | None = None
    contact_way_url: ContactWayUrl = ""


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
        statuses=STAFF_STATUSES,
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
    ids = {m.to_staff_id for m in moves} | {m.from_staff_id for m in moves} | {made.from_staff_id}
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


class NewStaff(BaseModel):
    """The add-a-staff-member form: no WeCom needed (the UserID is for brands that use it)."""

    name: Text200
    role: Annotated[str, one_of(STAFF_ROLES)] = "guide"
    store_id: RowId | None = None
    team: Text200 = ""
    wecom_userid: Text64 = ""
    contact_limit: ContactLimit | None = None


@router.post("/staff/new", response_class=HTMLResponse)
def add_staff(
    request: Request,
    session: SessionDep,
    _: Manager,
    form: Annotated[Submission[NewStaff], posted(NewStaff)],
):
    if form.data is None:
        return _staff_page(request, session, 400, new=form)
    new = form.data
    try:
        fields: dict = {"contact_limit": new.contact_limit} if new.contact_limit else {}
        if new.team.strip():
            fields["team_id"] = service.create_team(session, new.team).id
        made = service.create_staff(
            session, new.name, new.role, new.store_id, new.wecom_userid, **fields
        )
    except SiyuError as error:
        session.rollback()
        return _staff_page(request, session, error.status, new=form.refuse(error))
    return RedirectResponse(f"/staff?done=added#s{made.id}", status_code=303)


# --- stores ---------------------------------------------------------------------------------


class StoreForm(BaseModel):
    """A store: its code (on its QR codes and in imports), name and city."""

    code: Text64
    name: Text200
    city: Text200 = ""


def _stores_page(request: Request, session: Session, status_code: int = 200, **context):
    stores = service.stores_with_counts(session)
    return render(
        request,
        "staff_stores.html",
        status_code=status_code,
        stores=stores,
        store_names={store.id: store.name for store, _ in stores},
        teams=service.list_teams(session),
        team_sizes=_team_sizes(session),
        **context,
    )


def _team_sizes(session: Session) -> dict[int, int]:
    rows = session.execute(
        select(Staff.team_id, func.count(Staff.id))
        .where(Staff.team_id.is_not(None), Staff.status == "active")
        .group_by(Staff.team_id)
    )
    return {team: count for team, count in rows if team is not None}


class TeamForm(BaseModel):
    """A team (a persona account and its assistants, a store's guides): name and store."""

    name: Text200
    store_id: RowId | None = None


@router.post("/staff/teams", response_class=HTMLResponse)
def save_team(
    request: Request,
    session: SessionDep,
    _: Manager,
    form: Annotated[Submission[TeamForm], posted(TeamForm)],
):
    """Make a team, or move one (named as it is) to another store."""
    if form.data is None:
        return _stores_page(request, session, 400, team_form=form)
    try:
        service.create_team(session, form.data.name, form.data.store_id)
    except SiyuError as error:
        session.rollback()
        return _stores_page(request, session, error.status, team_form=form.refuse(error))
    return RedirectResponse("/staff/stores?done=team#teams", status_code=303)


@router.get("/staff/stores", response_class=HTMLResponse)
def stores_page(request: Request, session: SessionDep, _: Viewer, done: str = ""):
    return _stores_page(request, session, done=done)


@router.post("/staff/stores", response_class=HTMLResponse)
def add_store(
    request: Request,
    session: SessionDep,
    _: Manager,
    form: Annotated[Submission[StoreForm], posted(StoreForm)],
):
    if form.data is None:
        return _stores_page(request, session, 400, new=form)
    try:
        service.add_store(session, form.data.code, form.data.name, form.data.city)
    except SiyuError as error:
        session.rollback()
        return _stores_page(request, session, error.status, new=form.refuse(error))
    return RedirectResponse("/staff/stores?done=added", status_code=303)


@router.post("/staff/stores/{store_id}", response_class=HTMLResponse)
def change_store(
    request: Request,
    session: SessionDep,
    _: Manager,
    store_id: RowId,
    form: Annotated[Submission[StoreForm], posted(StoreForm)],
):
    if form.data is None:
        return _stores_page(request, session, 400, form=form, edited=store_id)
    change = form.data
    try:
        service.update_store(
            session, store_id, code=change.code, name=change.name, city=change.city
        )
    except SiyuError as error:
        session.rollback()
        return _stores_page(
            request, session, error.status, form=form.refuse(error), edited=store_id
        )
    return RedirectResponse("/staff/stores?done=saved", status_code=303)


# --- giving customers a guide by hand ---------------------------------------------------------


class BulkAssign(BaseModel):
    """The assign form: one guide, and whose customers: a segment's members or a file's."""

    guide_id: RowId
    segment: Text64 = ""
    only_unowned: bool = False


def _takers(session: Session) -> list[Staff]:
    return [s for s in service.list_staff(session, "active") if s.role in handovers.TAKERS]


def _assign_page(request: Request, session: Session, status_code: int = 200, **context):
    return render(
        request,
        "staff_assign.html",
        status_code=status_code,
        guides=_takers(session),
        stores={s.id: s for s in service.list_stores(session)},
        customers=_customers_by_staff(session),
        segments=segments.list_segments(session),
        skip_labels=SKIP_LABELS,
        **context,
    )


@router.get("/staff/assign", response_class=HTMLResponse)
def assign_page(
    request: Request, session: SessionDep, _: Manager, segment: str = "", unowned: bool = False
):
    return _assign_page(request, session, chosen_segment=segment, unowned=unowned)


@router.post("/staff/assign", response_class=HTMLResponse)
def assign(
    request: Request,
    # Before the user: the body is read (and cut off at the edge's limit) before signing in,
    # as FastAPI does for File() parameters.
    form: FormDep,
    session: SessionDep,
    user: Manager,
):
    sent = read_form(BulkAssign, form)
    if sent.data is None:
        return _assign_page(request, session, 400, form=sent)
    upload = form.get("file")
    data = upload.file.read() if isinstance(upload, UploadFile) else b""
    try:
        done = _assign(session, sent.data, data, f"user:{user.email}")
    except SiyuError as error:
        session.rollback()
        return _assign_page(request, session, error.status, form=sent.refuse(error))
    guide = session.get_one(Staff, done.staff_id)
    return _assign_page(request, session, result=done, guide=guide)


def _assign(session: Session, form: BulkAssign, data: bytes, actor: str) -> handovers.Assignment:
    if bool(form.segment) == bool(data):
        raise InvalidInput(N_("choose a segment or upload a file, not both"), field="segment")
    only = form.only_unowned
    if form.segment:
        return assignment.assign_segment(
            session, form.segment, form.guide_id, actor, only_unowned=only
        )
    refs = customers.read_list(data)
    return assignment.assign_list(session, refs, form.guide_id, actor, only_unowned=only)


class OwnerChange(BaseModel):
    guide_id: RowId


@router.get("/staff/owner/{customer_id}", response_class=HTMLResponse)
def owner_form(request: Request, session: SessionDep, _: Manager, customer_id: RowId):
    """The customer page's guide picker (loaded into it, so that page needs no staff list)."""
    customer = customers.find_customer(session, customer_id)
    return render(request, "staff_owner_form.html", customer=customer, guides=_takers(session))


@router.post("/staff/owner/{customer_id}")
def change_owner(
    session: SessionDep,
    user: Manager,
    customer_id: RowId,
    form: Annotated[Submission[OwnerChange], posted(OwnerChange)],
):
    if form.data is None:
        raise InvalidInput(N_("choose a guide"), field="guide_id")
    customer = customers.find_customer(session, customer_id)
    handovers.assign_customers(session, [customer.id], form.data.guide_id, f"user:{user.email}")
    return RedirectResponse(f"/customers/{customer.id}?owner=changed", status_code=303)


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
        if change.name.strip():
            fields["name"] = change.name.strip()
        if change.status is not None:
            fields["status"] = change.status
        service.update_staff(session, staff_id, **fields)
    except SiyuError as error:
        session.rollback()
        return _staff_page(request, session, error.status, form=form.refuse(error), edited=staff_id)
    return RedirectResponse("/staff?done=saved", status_code=303)
