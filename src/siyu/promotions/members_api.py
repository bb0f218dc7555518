"""Members' API (会员体系): the brand's readers and the mall see a customer's tier, points,
benefits and recent ledger; the mall spends a customer's points on a coupon (`mall` tokens,
once per `Idempotency-Key`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from siyu.core.deps import SessionDep
from siyu.core.limits import Text64
from siyu.promotions import activities, members, points
from siyu.promotions.checkout import Checkout, IdempotencyKey, Looker, answered
from siyu.promotions.member_models import PointsEntry

router = APIRouter(prefix="/api/members", tags=["promotions"])
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such customer or coupon template (`field` says which)."},
    409: {
        "description": "Not enough points, a template points do not buy, or a coupon the "
        "customer cannot get (`code`)."
    },
}


class SpendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    coupon_template: Text64


def entry_row(entry: PointsEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "kind": entry.kind,
        "points": entry.delta,
        "balance": entry.balance,
        "order_id": entry.order_id,
        "reason": entry.reason,
        "at": entry.at.isoformat(),
    }


def member_body(session: Session, customer_id: int) -> dict[str, Any]:
    card = members.member_card(session, customer_id)
    return {
        "customer_id": customer_id,
        "tier": {"key": card.tier_key, "name": card.tier} if card.tier else None,
        "basis": card.basis,
        "spend": card.spend_fen / 100,
        "orders": card.orders,
        "next_tier": {"name": card.next_tier, "missing": card.missing} if card.next_tier else None,
        "points": card.points,
        "benefits": card.benefits,
        "rewards": [{"coupon_template": k, "name": n, "points": p} for k, n, p in card.rewards],
        "ledger": [entry_row(e) for e in points.ledger(session, customer_id)],
    }


@router.get(
    "/{customer}", summary="A customer's tier, points, benefits and ledger", responses=ERRORS
)
def show(customer: Text64, session: SessionDep, token: Looker) -> dict[str, Any]:
    return member_body(session, activities.payer(session, customer).id)


@router.post(
    "/{customer}/points/spend",
    status_code=201,
    summary="Spend the customer's points on one coupon of a template",
    responses=ERRORS,
)
def spend(
    customer: Text64,
    body: SpendIn,
    request: Request,
    token: Checkout,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    def act(session: Session) -> tuple[int, dict[str, Any]]:
        payer = activities.payer(session, customer)
        spent = points.spend(session, payer.id, body.coupon_template)
        return 201, {"coupon_id": spent.coupon_code, **entry_row(spent.entry)}

    return answered(token, idempotency_key, request, body, act)
