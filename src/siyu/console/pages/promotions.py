"""Promotions (活动) in the console: the overview (coupon templates with what they cost and
brought in, flash sales with their live stock, the month's calendar), and a coupon template's
form and page (its numbers, a chart of coupons issued and redeemed per day, pause / resume /
end, issuing to a segment or a list). A flash sale's pages are promotions_flash's."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from siyu.console.pages import promotions_calendar as calendar
from siyu.console.pages import promotions_flash as flash_pages
from siyu.console.pages import promotions_groups as group_pages
from siyu.console.pages import promotions_tiered as tiered_pages
from siyu.console.pages.promotions_fields import Fen, StatusForm, names, status_changed, zone
from siyu.console.web import N_, allowed, render
from siyu.core.deps import SessionDep
from siyu.core.errors import InvalidInput, SiyuError
from siyu.core.forms import Submission, one_of, posted
from siyu.core.limits import Day, Text, Text64, Text200
from siyu.profiles.service import mask_phone, sees_full_phones
from siyu.promotions import flash, group_buys, tiered
from siyu.promotions import service as promotions
from siyu.promotions.models import COUPON_KINDS, CouponTemplate
from siyu.segments import service as segments
from siyu.users.models import User

router = APIRouter(include_in_schema=False)
router.include_router(flash_pages.router)  # the app registers this module's router alone
router.include_router(group_pages.router)
router.include_router(tiered_pages.router)
Viewer = Annotated[User, allowed("promotions.view")]
Manager = Annotated[User, allowed("promotions.manage")]

KIND_LABELS = {
    "amount": N_("Amount off"),
    "percent": N_("Percent off"),
    "threshold": N_("Spend and save"),
    "free_item": N_("Free item"),
}
TEMPLATE_STATUS_LABELS = {
    "active": N_("Issuing"),
    "paused": N_("Paused"),
    "ended": N_("Ended"),
}
SKIP_LABELS = {
    "limit": N_("already hold as many as each customer may"),
    "out_of_stock": N_("the stock ran out"),
}


# -- the overview ----------------------------------------------------------------------------


@router.get("/promotions", response_class=HTMLResponse)
def overview(request: Request, session: SessionDep, user: Viewer, month: Text64 = ""):
    templates = promotions.list_templates(session)
    stats = promotions.stats(session, [t.id for t in templates])
    sales = [flash_pages.sale_row(sale) for sale in flash.list_sales(session)]
    groups = [group_pages.group_buy_row(session, g) for g in group_buys.list_group_buys(session)]
    tiers = [tiered_pages.tiered_row(t) for t in tiered.list_tiered(session)]
    shown = calendar.month_of(month, datetime.now(zone()).date())
    activities = calendar.activities(
        templates,
        [row["sale"] for row in sales],
        zone(),
        [row["a"] for row in groups] + [row["a"] for row in tiers],
    )
    return render(
        request,
        "promotions_home.html",
        templates=[(t, stats[t.id]) for t in templates],
        sales=sales,
        group_buys=groups,
        tiered=tiers,
        weeks=calendar.weeks(shown, activities),
        month=shown,
        previous=calendar.shifted(shown, -1).strftime("%Y-%m"),
        following=calendar.shifted(shown, 1).strftime("%Y-%m"),
        today=datetime.now(zone()).date(),
        kind_labels=KIND_LABELS,
        template_labels=TEMPLATE_STATUS_LABELS,
        phase_labels=flash_pages.PHASE_LABELS,
    )


# -- coupon templates ------------------------------------------------------------------------


class CouponForm(BaseModel):
    """A coupon template: what it takes off (the fields of its kind), when it holds, how many."""

    key: Text64
    name: Text200
    kind: Annotated[str, one_of(COUPON_KINDS)]
    amount: Fen | None = None
    threshold: Fen | None = None
    percent: int | None = Field(None, ge=1, le=99)
    cap: Fen | None = None
    free_item: Text64 = ""
    valid_days: int | None = Field(None, ge=1, le=3650)
    valid_from: Day | None = None
    valid_until: Day | None = None
    stock: int | None = Field(None, ge=1, le=100_000_000)
    per_customer: int = Field(1, ge=1, le=100)
    stores: Text = ""
    products: Text = ""
    categories: Text = ""
    # Checkboxes: one left unticked is not sent, so each is False unless ticked.
    stacks: bool = False
    returnable: bool = False
    claimable: bool = False


COUPON_FIELDS = tuple(CouponForm.model_fields)
NEW_COUPON = {"kind": "amount", "per_customer": "1", "valid_days": "30", "returnable": "1"}


def _value_rules(form: CouponForm) -> dict[str, Any]:
    """The value fields of the form's kind (docs/promotions.md), the others left out."""
    if form.kind == "amount":
        return {"amount_fen": form.amount or 0}
    if form.kind == "threshold":
        return {"amount_fen": form.amount or 0, "threshold_fen": form.threshold or 0}
    if form.kind == "percent":
        return {"percent": form.percent or 0, "cap_fen": form.cap}
    return {"free_item": form.free_item}


def _day_start(day: Day | None) -> datetime | None:
    return datetime.combine(day, time.min, zone()) if day else None


def _day_end(day: Day | None) -> datetime | None:
    """The last moment of the brand's day: a coupon valid until 12-31 holds all that day."""
    return datetime.combine(day, time(23, 59, 59), zone()) if day else None


def _create_template(session: Session, form: CouponForm, user: User) -> CouponTemplate:
    return promotions.create_template(
        session,
        form.key,
        form.name,
        form.kind,
        **_value_rules(form),
        valid_from=_day_start(form.valid_from),
        valid_until=_day_end(form.valid_until),
        valid_days=form.valid_days,
        stock=form.stock,
        per_customer=form.per_customer,
        stores=names(form.stores),
        products=names(form.products),
        categories=names(form.categories),
        stacks=form.stacks,
        returnable=form.returnable,
        claimable=form.claimable,
        actor=f"user:{user.email}",
    )


def _coupon_form(request: Request, form: Submission[CouponForm] | None, status_code: int = 200):
    return render(
        request,
        "promotions_coupon_new.html",
        status_code=status_code,
        form=form,
        v=form.values if form else NEW_COUPON,
        fields=COUPON_FIELDS,
        kinds=COUPON_KINDS,
        kind_labels=KIND_LABELS,
    )


@router.get("/promotions/coupons/new", response_class=HTMLResponse)
def new_coupon(request: Request, user: Manager):
    return _coupon_form(request, None)


@router.post("/promotions/coupons", response_class=HTMLResponse)
def create_coupon(
    request: Request,
    session: SessionDep,
    user: Manager,
    form: Annotated[Submission[CouponForm], posted(CouponForm)],
):
    if form.data is None:
        return _coupon_form(request, form, 400)
    try:
        made = _create_template(session, form.data, user)
    except SiyuError as error:
        session.rollback()
        return _coupon_form(request, form.refuse(error), error.status)
    return RedirectResponse(f"/promotions/coupons/{made.key}?done=created", status_code=303)


class IssueForm(BaseModel):
    """Issue the template's coupons to a saved segment's members, or to a pasted list."""

    audience: Annotated[str, one_of(("segment", "list"))] = "segment"
    segment: Text64 = ""
    customers: Text = ""


def _coupon_page(
    request: Request, session: Session, key: str, status_code: int = 200, **context: Any
):
    template = promotions.find_template(session, key)
    return render(
        request,
        "promotions_coupon.html",
        status_code=status_code,
        t=template,
        stats=promotions.stats(session, [template.id])[template.id],
        chart=promotions.daily_coupons(session, template),
        segments=segments.list_segments(session),
        kind_labels=KIND_LABELS,
        template_labels=TEMPLATE_STATUS_LABELS,
        skip_labels=SKIP_LABELS,
        **context,
    )


@router.get("/promotions/coupons/{template_key}", response_class=HTMLResponse)
def coupon_page(
    request: Request, session: SessionDep, user: Viewer, template_key: Text64, done: str = ""
):
    return _coupon_page(request, session, template_key, done=done)


def _audience(session: Session, form: IssueForm) -> tuple[list[int], list[str]]:
    """The customer ids the form names, and the list's references that named no one."""
    if form.audience == "segment":
        if not form.segment:
            raise InvalidInput(N_("choose a segment"), field="segment")
        return promotions.audience(session, form.segment)
    refs = names(form.customers)
    if not refs:
        raise InvalidInput(N_("paste customer ids or phone numbers"), field="customers")
    return promotions.audience(session, refs=refs)


@router.post("/promotions/coupons/{template_key}/issue", response_class=HTMLResponse)
def issue_coupons(
    request: Request,
    session: SessionDep,
    user: Manager,
    template_key: Text64,
    form: Annotated[Submission[IssueForm], posted(IssueForm)],
):
    """Issue, then answer on the template's page: how many were issued, who was skipped and
    why, which pasted references named no customer."""
    if form.data is None:
        return _coupon_page(request, session, template_key, 400, issue_form=form)
    try:
        ids, unknown = _audience(session, form.data)
        segment = form.data.segment if form.data.audience == "segment" else None
        done = promotions.issue(session, template_key, ids, form.data.audience, segment)
    except SiyuError as error:
        session.rollback()
        # `key`: the template refused (paused, ended, expired), which no field of the form is
        refused = form.refuse(error, "" if error.field == "key" else None)
        return _coupon_page(request, session, template_key, error.status, issue_form=refused)
    outcome = {
        "asked": len(ids) + len(unknown),
        "issued": len(done.coupons),
        "skipped": {reason: n for reason, n in done.skipped.items() if n},
        "unknown": [r if sees_full_phones(user.role) else mask_phone(r) for r in unknown[:20]],
        "unknown_count": len(unknown),
    }
    return _coupon_page(request, session, template_key, issue_form=form, outcome=outcome)


@router.post("/promotions/coupons/{template_key}/status")
def coupon_status(
    request: Request,
    session: SessionDep,
    user: Manager,
    template_key: Text64,
    form: Annotated[Submission[StatusForm], posted(StatusForm)],
) -> Response:
    return status_changed(
        session,
        form,
        lambda status: promotions.set_status(session, template_key, status),
        lambda code, **context: _coupon_page(request, session, template_key, code, **context),
        f"/promotions/coupons/{template_key}",
    )
