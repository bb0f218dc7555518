"""Member tiers and points (会员体系) in the console: the tiers with their rules, benefits and
members (a bar chart), a form that creates or changes a tier, and the points setting."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from siyu.console.web import N_, allowed, render
from siyu.core.deps import SessionDep
from siyu.core.errors import SiyuError
from siyu.core.forms import FieldError, Submission, one_of, posted
from siyu.core.limits import Text64
from siyu.core.money import typed_fen
from siyu.core.permissions import can
from siyu.promotions import members, points
from siyu.promotions import service as promotions
from siyu.promotions.member_models import TIER_BASES, MemberTier
from siyu.users.models import User

router = APIRouter(include_in_schema=False)
Viewer = Annotated[User, allowed("promotions.view")]
Manager = Annotated[User, allowed("promotions.manage")]
PAGE = "/promotions/members"
BASIS_LABELS = {"spend": N_("Spend (yuan paid, net of refunds)"), "orders": N_("Orders")}


class TierForm(BaseModel):
    """A tier: its key (an existing one's is changed), name, threshold, coupon and benefits."""

    key: Text64
    name: Annotated[str, Field(min_length=1, max_length=64)]
    least: Annotated[str, Field(min_length=1, max_length=20)]
    coupon_template: Text64 = ""
    benefits: Annotated[str, Field(max_length=500)] = ""


class SettingsForm(BaseModel):
    points_per_yuan: int = Field(ge=0, le=1000)
    basis: Annotated[str, one_of(TIER_BASES)]
    window_days: int = Field(ge=1, le=3650)


TIER_FIELDS = tuple(TierForm.model_fields)
SETTINGS_FIELDS = tuple(SettingsForm.model_fields)


def _least(text: str, basis: str) -> int:
    """The threshold as typed: yuan on the spend basis, a count of orders on the other."""
    if basis == "spend":
        return typed_fen(text)
    if not text.strip().isdecimal():
        raise ValueError(N_("enter a whole number of orders"))
    return int(text)


def _tiers(session: Session) -> list[dict[str, Any]]:
    counts = members.tier_counts(session)
    names = {t.id: t.name for t in promotions.list_templates(session)}
    return [
        {"tier": t, "members": counts.get(t.id, 0), "coupon": names.get(t.coupon_template_id or 0)}
        for t in members.tiers(session)
    ]


def _page(
    request: Request,
    session: Session,
    user: User,
    status_code: int = 200,
    tier_form: Submission[TierForm] | None = None,
    settings_form: Submission[SettingsForm] | None = None,
    **context: Any,
) -> HTMLResponse:
    rules, rows = points.settings_of(session), _tiers(session)
    templates = promotions.list_templates(session)
    editing = context.pop("editing", None)
    return render(
        request,
        "promotions_members.html",
        status_code=status_code,
        rules=rules,
        rows=rows,
        chart={"names": [r["tier"].name for r in rows], "members": [r["members"] for r in rows]},
        templates=templates,
        rewards=points.rewards(session),
        basis_labels=BASIS_LABELS,
        managing=can(user.role, "promotions.manage"),
        tier_form=tier_form,
        settings_form=settings_form,
        tv=tier_form.values
        if tier_form
        else _tier_values(editing, rules.basis, {t.id: t.key for t in templates}),
        sv=settings_form.values if settings_form else _settings_values(rules),
        tier_fields=TIER_FIELDS,
        settings_fields=SETTINGS_FIELDS,
        **context,
    )


def _tier_values(tier: MemberTier | None, basis: str, keys: dict[int, str]) -> dict[str, str]:
    """An existing tier's values in the form, to change it."""
    if tier is None:
        return {}
    least = f"{tier.least / 100:.2f}" if basis == "spend" else str(tier.least)
    template = keys.get(tier.coupon_template_id or 0, "")
    return {"key": tier.key, "name": tier.name, "least": least, "benefits": tier.benefits,
            "coupon_template": template}  # fmt: skip


def _settings_values(rules: Any) -> dict[str, str]:
    return {
        "points_per_yuan": str(rules.points_per_yuan),
        "basis": rules.basis,
        "window_days": str(rules.window_days),
    }


@router.get(PAGE, response_class=HTMLResponse)
def members_page(
    request: Request, session: SessionDep, user: Viewer, edit: Text64 = "", done: str = ""
):
    editing = members.find_tier(session, edit) if edit else None
    return _page(request, session, user, editing=editing, done=done)


@router.post(f"{PAGE}/tiers", response_class=HTMLResponse)
def save_tier(
    request: Request,
    session: SessionDep,
    user: Manager,
    form: Annotated[Submission[TierForm], posted(TierForm)],
):
    if form.data is None:
        return _page(request, session, user, 400, tier_form=form)
    data = form.data
    try:
        least = _least(data.least, points.settings_of(session).basis)
    except ValueError as error:
        form.errors["least"] = FieldError(str(error))
        return _page(request, session, user, 400, tier_form=form)
    try:
        members.save_tier(
            session, data.key.strip(), data.name, least, data.coupon_template or None, data.benefits
        )
    except SiyuError as error:
        session.rollback()
        return _page(request, session, user, error.status, tier_form=form.refuse(error))
    return RedirectResponse(f"{PAGE}?done=tier", status_code=303)


@router.post(f"{PAGE}/settings", response_class=HTMLResponse)
def save_settings(
    request: Request,
    session: SessionDep,
    user: Manager,
    form: Annotated[Submission[SettingsForm], posted(SettingsForm)],
):
    if form.data is None:
        return _page(request, session, user, 400, settings_form=form)
    data = form.data
    try:
        members.set_settings(session, data.points_per_yuan, data.basis, data.window_days)
    except SiyuError as error:
        session.rollback()
        return _page(request, session, user, error.status, settings_form=form.refuse(error))
    return RedirectResponse(f"{PAGE}?done=settings", status_code=303)


@router.get(f"{PAGE}/card/{{customer_id}}", response_class=HTMLResponse)
def member_card(request: Request, session: SessionDep, user: Viewer, customer_id: int):
    """The customer 360's member part: tier, the next one, points and the latest ledger rows."""
    return render(
        request,
        "promotions_member_card.html",
        card=members.member_card(session, customer_id),
        ledger=points.ledger(session, customer_id, limit=5),
    )
