"""Coupons' API: the mall redeems at checkout (`mall` tokens), the brand's scripts write
templates and issue coupons (admin and operator tokens)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from siyu.core.auth import ApiToken
from siyu.core.deps import SessionDep, token_allowed
from siyu.core.errors import InvalidInput, NotFound
from siyu.core.limits import Text64, Text200
from siyu.customers import service as customers
from siyu.promotions import coupon_templates as templates
from siyu.promotions import coupons
from siyu.promotions.checkout import Checkout, IdempotencyKey, Looker, Yuan, answered, fen
from siyu.promotions.models import Coupon, CouponTemplate

router = APIRouter(tags=["promotions"])
Reader = Annotated[ApiToken, token_allowed("promotions.view")]
Manager = Annotated[ApiToken, token_allowed("promotions.manage")]


def _customer(session: Session, ref: str) -> Any:
    try:
        return customers.find_customer(session, ref)
    except NotFound:
        raise NotFound("no customer has this id or identity", field="customer") from None


# --- templates ----------------------------------------------------------------------------------


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: Text64 = Field(description="Lowercase letters, digits, '-' or '_'.")
    name: Text200
    kind: str = Field(description="amount, percent, threshold (满减) or free_item")
    amount: Yuan | None = Field(None, description="Yuan off (amount, threshold).")
    percent: int = Field(0, ge=0, le=99, description="Percent off (percent).")
    cap: Yuan | None = Field(None, description="A percent coupon's most, in yuan.")
    threshold: Yuan | None = Field(None, description="The least order it applies to, in yuan.")
    free_item: Text64 | None = Field(None, description="The free item's SKU (free_item).")
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    valid_days: int | None = Field(None, ge=1, le=3650, description="Or days from issue.")
    stock: int | None = Field(None, ge=1, le=100_000_000, description="Empty: no limit.")
    per_customer: int = Field(1, ge=1, le=100)
    stores: list[Text64] = Field(default_factory=list, max_length=1000)
    products: list[Text64] = Field(default_factory=list, max_length=1000)
    categories: list[Text64] = Field(default_factory=list, max_length=1000)
    stacks: bool = False
    returnable: bool = Field(True, description="A fully refunded order returns the coupon.")
    claimable: bool = Field(False, description="Customers may claim it on its page.")


class TemplateOut(BaseModel):
    key: str
    name: str
    kind: str
    status: str
    amount: float | None
    percent: int
    cap: float | None
    threshold: float | None
    free_item: str | None
    valid_from: datetime | None
    valid_until: datetime | None
    valid_days: int | None
    stock: int | None
    per_customer: int
    stores: list[str]
    products: list[str]
    categories: list[str]
    stacks: bool
    returnable: bool
    claimable: bool
    issued: int
    redeemed: int
    expired: int
    redemption_rate: float | None
    cost: float = Field(description="Yuan the redeemed coupons took off their orders.")
    redeemed_order_amount: float = Field(description="Yuan of the orders that redeemed them.")


def yuan(value: int | None) -> float | None:
    return None if value is None else value / 100


def template_out(template: CouponTemplate, stats: templates.TemplateStats) -> TemplateOut:
    return TemplateOut(
        key=template.key,
        name=template.name,
        kind=template.kind,
        status=template.status,
        amount=yuan(template.amount_fen) if template.amount_fen else None,
        percent=template.percent,
        cap=yuan(template.cap_fen),
        threshold=yuan(template.threshold_fen) if template.threshold_fen else None,
        free_item=template.free_item,
        valid_from=template.valid_from,
        valid_until=template.valid_until,
        valid_days=template.valid_days,
        stock=template.stock,
        per_customer=template.per_customer,
        stores=template.stores,
        products=template.products,
        categories=template.categories,
        stacks=template.stacks,
        returnable=template.returnable,
        claimable=template.claimable,
        issued=stats.issued,
        redeemed=stats.redeemed,
        expired=stats.expired,
        redemption_rate=stats.redemption_rate,
        cost=stats.discount_fen / 100,
        redeemed_order_amount=stats.order_fen / 100,
    )


def _one(session: Session, template: CouponTemplate) -> TemplateOut:
    return template_out(template, templates.stats(session, [template.id])[template.id])


@router.post("/api/coupon-templates", status_code=201, summary="Write a coupon template")
def create_template(body: TemplateIn, session: SessionDep, token: Manager) -> TemplateOut:
    template = templates.create_template(
        session,
        body.key,
        body.name,
        body.kind,
        amount_fen=fen(body.amount) or 0,
        percent=body.percent,
        cap_fen=fen(body.cap),
        threshold_fen=fen(body.threshold) or 0,
        free_item=body.free_item,
        valid_from=body.valid_from,
        valid_until=body.valid_until,
        valid_days=body.valid_days,
        stock=body.stock,
        per_customer=body.per_customer,
        stores=body.stores,
        products=body.products,
        categories=body.categories,
        stacks=body.stacks,
        returnable=body.returnable,
        claimable=body.claimable,
        actor=f"token:{token.name}",
    )
    return _one(session, template)


@router.get("/api/coupon-templates", summary="Every template with its issued and redeemed")
def list_templates(session: SessionDep, token: Reader) -> list[TemplateOut]:
    found = templates.list_templates(session)
    stats = templates.stats(session, [t.id for t in found])
    return [template_out(t, stats[t.id]) for t in found]


@router.get("/api/coupon-templates/{template_key}", summary="A template with its results")
def show_template(template_key: Text64, session: SessionDep, token: Reader) -> TemplateOut:
    return _one(session, templates.find_template(session, template_key))


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str = Field(description="active, paused (no new coupons) or ended (none redeem)")


@router.post(
    "/api/coupon-templates/{template_key}/status", summary="Pause, resume or end a template"
)
def set_status(
    template_key: Text64, body: StatusIn, session: SessionDep, token: Manager
) -> TemplateOut:
    if body.status not in ("active", "paused", "ended"):
        raise InvalidInput("status is active, paused or ended", field="status")
    return _one(session, templates.set_status(session, template_key, body.status))


class IssueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customers: list[Text64] | None = Field(
        None, max_length=100_000, description="Customer ids or any identity value (phones)."
    )
    segment: Text64 | None = Field(None, description="Or every member of a saved segment.")


@router.post(
    "/api/coupon-templates/{template_key}/issue", summary="Issue a coupon to each customer"
)
def issue(
    template_key: Text64,
    body: IssueIn,
    request: Request,
    token: Manager,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    if (body.customers is None) == (body.segment is None):
        raise InvalidInput("give customers or a segment, not both", field="customers")

    def act(session: Session) -> tuple[int, dict[str, Any]]:
        ids, unknown = coupons.audience(session, body.segment, body.customers or [])
        via = "segment" if body.segment is not None else "list"
        done = coupons.issue(session, template_key, ids, via, body.segment)
        return 200, {
            "issued": len(done.coupons),
            "skipped": dict(done.skipped),
            "unknown": unknown[:100],
            "unknown_count": len(unknown),
        }

    return answered(token, idempotency_key, request, body, act)


# --- coupons ------------------------------------------------------------------------------------


class CouponOut(BaseModel):
    code: str
    template: str
    name: str
    kind: str
    customer_id: int
    status: str
    issued_at: datetime
    starts_at: datetime | None
    expires_at: datetime | None
    order_id: str | None
    discount: float | None


def coupon_out(coupon: Coupon, template: CouponTemplate) -> dict[str, Any]:
    return CouponOut(
        code=coupon.code,
        template=template.key,
        name=template.name,
        kind=template.kind,
        customer_id=coupon.customer_id,
        status=coupon.status,
        issued_at=coupon.issued_at,
        starts_at=coupon.starts_at,
        expires_at=coupon.expires_at,
        order_id=coupon.order_id,
        discount=yuan(coupon.discount_fen) if coupon.status == "redeemed" else None,
    ).model_dump(mode="json")


@router.get("/api/coupons", summary="A customer's coupons (usable ones only with usable=true)")
def customer_coupons(
    session: SessionDep,
    token: Looker,
    customer: Annotated[str, Query(max_length=64, description="A customer id or identity")],
    usable: bool = False,
) -> list[dict[str, Any]]:
    found = _customer(session, customer)
    return [coupon_out(c, t) for c, t in coupons.customer_coupons(session, found.id, usable)]


@router.get("/api/coupons/{coupon_code}", summary="One coupon: whose, what it is worth, its state")
def show_coupon(coupon_code: Text64, session: SessionDep, token: Looker) -> dict[str, Any]:
    coupon = coupons.find_coupon(session, coupon_code)
    return coupon_out(coupon, session.get_one(CouponTemplate, coupon.template_id))


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    sku: Text64
    category: Text64 | None = None
    price: Yuan | None = None
    quantity: int = Field(1, ge=1, le=10_000)


class RedeemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: str = Field(min_length=1, max_length=128)
    amount: Yuan = Field(description="The order's amount before this coupon, in yuan.")
    store: Text64 | None = None
    products: list[ProductIn] = Field(default_factory=list, max_length=200)
    customer: Text64 | None = Field(
        None, description="Who is paying (id or identity): refused if it is not the holder."
    )


@router.post("/api/coupons/{coupon_code}/redeem", summary="Use a coupon on an order at checkout")
def redeem(
    coupon_code: Text64,
    body: RedeemIn,
    request: Request,
    token: Checkout,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """The discount to take off, or why not: 404 unknown code, 409 redeemed by another order,
    expired or ended, 422 a rule of the coupon the order breaks (store, products, threshold).
    Redeeming again with the same order answers the same and changes nothing."""

    def act(session: Session) -> tuple[int, dict[str, Any]]:
        payer = _customer(session, body.customer).id if body.customer else None
        done = coupons.redeem(
            session,
            coupon_code,
            body.order_id,
            fen(body.amount) or 0,
            store=body.store,
            items=[
                coupons.Item(p.sku, p.category, fen(p.price), p.quantity) for p in body.products
            ],
            customer_id=payer,
        )
        answer = coupon_out(done.coupon, done.template)
        return 200, {**answer, "discount_fen": done.coupon.discount_fen, "again": done.replayed}

    return answered(token, idempotency_key, request, body, act)
