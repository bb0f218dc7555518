"""Consent and suppression in the console: a customer's consent on every channel with its whole
history (when, how, from which source, by whom: the record PIPL asks for), setting it; the
suppression list with reasons, adding and lifting an address; importing a consent CSV (as
`siyu consent import` does)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from siyu.console.web import N_, allowed, keeps_phone_from, render
from siyu.core.deps import FormDep, SessionDep
from siyu.core.errors import NotFound, SiyuError
from siyu.core.forms import FieldError, Submission, one_of, posted, read_form
from siyu.core.limits import RowId, Text200
from siyu.customers.models import Customer
from siyu.customers.service import find_customer, read_list
from siyu.messaging import service as messaging
from siyu.messaging.labels import (
    CHANNEL_LABELS,
    CONSENT_LABELS,
    DELIVERY_STATUS_LABELS,
    REASON_LABELS,
    SUPPRESSION_LABELS,
)
from siyu.messaging.models import CHANNELS, CONSENT_STATUSES, ConsentChange, Delivery, Suppression
from siyu.users.models import User

router = APIRouter(include_in_schema=False)
Viewer = Annotated[User, allowed("consent.view")]
Editor = Annotated[User, allowed("consent.edit")]

METHOD_LABELS = {
    "import": N_("Imported"),
    "console": N_("Set in the console"),
    "api": N_("Through the API"),
    "cli": N_("From the command line"),
    "form": N_("The customer's form"),
    "reply": N_("The customer's reply"),
    "one_click": N_("One-click unsubscribe"),
    "call_outcome": N_("A call's outcome"),
    "platform": N_("The platform"),
}
PAGE = 100


def _page(request: Request, session: Session, status_code: int = 200, **context: Any):
    q = str(context.pop("q", "") or "").strip()
    customer = consent = history = None
    if q:
        try:
            customer = find_customer(session, q)
        except NotFound:
            context["not_found"] = True
        else:
            consent = messaging.consent_of(session, customer.id)
            history = session.scalars(
                select(ConsentChange)
                .where(ConsentChange.customer_id == customer.id)
                .order_by(ConsentChange.changed_at.desc(), ConsentChange.id.desc())
                .limit(200)
            ).all()
    suppressed = session.scalars(
        select(Suppression)
        .order_by(Suppression.created_at.desc(), Suppression.id.desc())
        .limit(PAGE)
    ).all()
    total = session.scalar(select(func.count(Suppression.id))) or 0
    return render(
        request,
        "reach_consent.html",
        status_code=status_code,
        q="" if keeps_phone_from(getattr(request.state, "user", None), q) else q,
        customer=customer,
        consent=consent,
        reachable={
            c: messaging.is_reachable(c, r.status if r else None)
            for c, r in (consent or {}).items()
        },
        history=history,
        suppressed=suppressed,
        suppressed_total=total,
        channels=CHANNELS,
        statuses=CONSENT_STATUSES,
        channel_labels=CHANNEL_LABELS,
        consent_labels=CONSENT_LABELS,
        suppression_labels=SUPPRESSION_LABELS,
        method_labels=METHOD_LABELS,
        **context,
    )


@router.get("/reach/consent", response_class=HTMLResponse)
def consent_page(request: Request, session: SessionDep, user: Viewer, q: str = "", done: str = ""):
    return _page(request, session, q=q[:200], done=done)


class ConsentForm(BaseModel):
    """One customer's consent on one channel, with where it came from."""

    channel: Annotated[str, one_of(CHANNELS)]
    status: Annotated[str, one_of(CONSENT_STATUSES)]
    source: Text200


@router.post("/reach/consent/{customer_id}", response_class=HTMLResponse)
def set_consent(
    request: Request,
    session: SessionDep,
    user: Editor,
    customer_id: RowId,
    form: Annotated[Submission[ConsentForm], posted(ConsentForm)],
):
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(N_("no such customer"), field="customer_id")
    if form.data is None:
        return _page(request, session, 400, q=str(customer_id), consent_form=form)
    try:
        messaging.set_consent(
            session,
            customer_id,
            form.data.channel,
            form.data.status,
            method="console",
            source=form.data.source,
            actor=f"user:{user.email}",
        )
    except SiyuError as error:
        session.rollback()
        return _page(
            request, session, error.status, q=str(customer_id), consent_form=form.refuse(error)
        )
    return RedirectResponse(f"/reach/consent?q={customer_id}&done=consent", status_code=303)


class SuppressForm(BaseModel):
    """An address no marketing goes to, and why."""

    channel: Annotated[str, one_of(CHANNELS)]
    address: Text200
    source: Text200 = ""


@router.post("/reach/suppressions", response_class=HTMLResponse)
def add_suppression(
    request: Request,
    session: SessionDep,
    user: Editor,
    form: Annotated[Submission[SuppressForm], posted(SuppressForm)],
):
    if form.data is None:
        return _page(request, session, 400, suppress_form=form)
    try:
        messaging.suppress(
            session,
            form.data.channel,
            form.data.address,
            "manual",
            source=form.data.source or f"user:{user.email}",
        )
    except SiyuError as error:
        session.rollback()
        return _page(request, session, error.status, suppress_form=form.refuse(error))
    return RedirectResponse("/reach/consent?done=suppressed#suppressions", status_code=303)


@router.post("/reach/suppressions/{suppression_id}/remove")
def remove_suppression(session: SessionDep, user: Editor, suppression_id: RowId):
    """Lift a suppression: the address may be reached again (consent still applies)."""
    row = session.get(Suppression, suppression_id)
    if row is None:
        raise NotFound(N_("no such suppression"), field="suppression_id")
    session.delete(row)
    session.flush()
    return RedirectResponse("/reach/consent?done=lifted#suppressions", status_code=303)


class ImportForm(BaseModel):
    """A consent CSV: its channel and where the consents came from."""

    channel: Annotated[str, one_of(CHANNELS)]
    source: Text200


@router.post("/reach/consent-import", response_class=HTMLResponse)
def import_consent(request: Request, form: FormDep, session: SessionDep, user: Editor):
    """Subscribe the customers a CSV names (its first column: any identity value)."""
    sent = read_form(ImportForm, form)
    upload = form.get("file")
    data = upload.file.read() if isinstance(upload, UploadFile) else b""
    if sent.data is None or not data:
        if not data:
            sent.errors["file"] = FieldError(N_("choose a CSV file"))
        return _page(request, session, 400, import_form=sent)
    try:
        done = messaging.import_consents(
            session, read_list(data), sent.data.channel, sent.data.source, f"user:{user.email}"
        )
    except SiyuError as error:
        session.rollback()
        return _page(request, session, error.status, import_form=sent.refuse(error))
    return _page(request, session, imported=done.as_dict(), import_channel=sent.data.channel)


ORIGIN_LABELS = {
    "broadcast": N_("Broadcast"),
    "journey": N_("Journey"),
    "task": N_("Guide task"),
    "test": N_("Test send"),
    "api": N_("API"),
}


@router.get("/reach/customers/{customer_id}", response_class=HTMLResponse)
def customer_reach(request: Request, session: SessionDep, user: Viewer, customer_id: RowId):
    """The 360's messages card: the customer's deliveries, newest first (when, channel, what
    sent it, status, clicked), and their consent on every channel."""
    if session.get(Customer, customer_id) is None:
        raise NotFound(N_("no such customer"), field="customer_id")
    deliveries = session.scalars(
        select(Delivery)
        .where(Delivery.customer_id == customer_id)
        .order_by(Delivery.created_at.desc(), Delivery.id.desc())
        .limit(50)
    ).all()
    consent = messaging.consent_of(session, customer_id)
    template = "reach_customer.html"
    if request.headers.get("hx-request") != "true":
        template = "reach_customer_page.html"
    return render(
        request,
        template,
        customer_id=customer_id,
        deliveries=deliveries,
        consent=consent,
        reachable={
            c: messaging.is_reachable(c, r.status if r else None) for c, r in consent.items()
        },
        channels=CHANNELS,
        channel_labels=CHANNEL_LABELS,
        consent_labels=CONSENT_LABELS,
        status_labels=DELIVERY_STATUS_LABELS,
        reason_labels=REASON_LABELS,
        origin_labels=ORIGIN_LABELS,
    )
