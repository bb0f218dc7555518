"""Tiered prices' API (阶梯价): the mall adds a participant at checkout and charges the price the
answer names (`mall` tokens, once per `Idempotency-Key`); the mall and the brand's readers see the
count and the prices."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from siyu.core.deps import SessionDep
from siyu.core.limits import Text64
from siyu.promotions import tiered
from siyu.promotions.checkout import (
    Checkout,
    CustomerRef,
    IdempotencyKey,
    Looker,
    OrderId,
    answered,
)
from siyu.promotions.models import TieredPrice

router = APIRouter(prefix="/api/tiered", tags=["promotions"])
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such activity or customer (`field` says which)."},
    409: {
        "description": "Not on now, closed, the customer taking part already, or the order "
        "used (`code`)."
    },
}


class ParticipantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer: CustomerRef
    order_id: OrderId = Field(description="The mall's order, to be charged the answer's price.")


@router.get("/{activity_key}", summary="The count, the prices and the next tier", responses=ERRORS)
def show(activity_key: Text64, session: SessionDep, token: Looker) -> dict[str, Any]:
    return tiered.summary(tiered.find_tiered(session, activity_key))


@router.post(
    "/{activity_key}/participants",
    status_code=201,
    summary="Take part: the answer's price is what the mall charges the order",
    responses=ERRORS,
)
def join(
    activity_key: Text64,
    body: ParticipantIn,
    request: Request,
    token: Checkout,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    def act(session: Session) -> tuple[int, dict[str, Any]]:
        participant = tiered.join(session, activity_key, body.customer, body.order_id)
        activity = session.get_one(TieredPrice, participant.activity_id)
        return 201, tiered.participant_row(activity, participant)

    return answered(token, idempotency_key, request, body, act)
