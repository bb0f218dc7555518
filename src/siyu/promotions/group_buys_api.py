"""Group buys' API (拼团) and the refunds the mall carries out: the mall opens and joins groups at
checkout and confirms the refunds Siyu emits (`mall` tokens, each write once per
`Idempotency-Key`); the mall and the brand's readers see a group and the refunds to make."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from siyu.core.deps import SessionDep
from siyu.core.limits import Cursor, RowId, Text64
from siyu.promotions import group_buys, refunds
from siyu.promotions.checkout import (
    Checkout,
    CustomerRef,
    IdempotencyKey,
    Looker,
    OrderId,
    Yuan,
    answered,
    fen,
)
from siyu.promotions.models import BuyGroup, GroupBuy

router = APIRouter(prefix="/api", tags=["promotions"])
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such group buy, group, refund or customer (`field` says which)."},
    409: {
        "description": "Full, closed, not on now, the customer in the group already, or the "
        "order used (`code`)."
    },
}


class PlaceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer: CustomerRef
    order_id: OrderId = Field(description="The mall's order that paid for the place.")
    amount: Yuan = Field(gt=0, description="What the order paid, yuan.")


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: str | None = Field(
        None, max_length=refunds.MAX_REFERENCE, description="The mall's own refund reference."
    )


def _group_answer(session: Session, group: BuyGroup, status: int) -> tuple[int, dict[str, Any]]:
    return status, group_buys.group_row(session.get_one(GroupBuy, group.group_buy_id), group)


@router.post(
    "/group-buys/{activity_key}/groups",
    status_code=201,
    summary="Open a group: the leader's order paid for the first place",
    responses=ERRORS,
)
def open_group(
    activity_key: Text64,
    body: PlaceIn,
    request: Request,
    token: Checkout,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    def act(session: Session) -> tuple[int, dict[str, Any]]:
        group = group_buys.open_group(
            session, activity_key, body.customer, body.order_id, fen(body.amount) or 0
        )
        return _group_answer(session, group, 201)

    return answered(token, idempotency_key, request, body, act)


@router.post(
    "/group-buys/groups/{group_code}/join",
    summary="Take a place in a group by its share code; the last place makes it succeed",
    responses=ERRORS,
)
def join_group(
    group_code: Text64,
    body: PlaceIn,
    request: Request,
    token: Checkout,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    def act(session: Session) -> tuple[int, dict[str, Any]]:
        group = group_buys.join_group(
            session, group_code, body.customer, body.order_id, fen(body.amount) or 0
        )
        return _group_answer(session, group, 200)

    return answered(token, idempotency_key, request, body, act)


@router.get(
    "/group-buys/groups/{group_code}",
    summary="A group: its status, members, places needed, deadline",
    responses=ERRORS,
)
def show_group(group_code: Text64, session: SessionDep, token: Looker) -> dict[str, Any]:
    return _group_answer(session, group_buys.find_group(session, group_code), 200)[1]


# --- refunds -------------------------------------------------------------------------------------


@router.get(
    "/promotion-refunds",
    summary="The refunds Siyu asks the mall to make (page with `after`)",
)
def list_refunds(
    session: SessionDep,
    token: Looker,
    status: Literal["pending", "confirmed"] | None = None,
    kind: Literal["group_buy", "tiered"] | None = None,
    after: Cursor = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    found = refunds.list_refunds(session, status, kind, after, limit)
    next_after = found[-1].id if len(found) == limit else None
    return {"refunds": [refunds.refund_row(r) for r in found], "next_after": next_after}


@router.post(
    "/promotion-refunds/{refund_id}/confirm",
    summary="The mall made the refund (again: the same answer)",
    responses=ERRORS,
)
def confirm_refund(
    refund_id: RowId,
    request: Request,
    token: Checkout,
    body: ConfirmIn | None = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    reference = body.reference if body else None

    def act(session: Session) -> tuple[int, dict[str, Any]]:
        return 200, refunds.refund_row(refunds.confirm(session, refund_id, reference))

    return answered(token, idempotency_key, request, body, act)
