"""Management API: the customer 360, beside the customers router's merges."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from siyu.core.auth import ApiToken
from siyu.core.deps import SessionDep, token_allowed
from siyu.core.errors import InvalidInput
from siyu.core.limits import RowId, Text64
from siyu.profiles import assign as assignment
from siyu.profiles import service
from siyu.staff import handover

router = APIRouter(prefix="/api/customers", tags=["customers"])
Reader = Annotated[ApiToken, token_allowed("customers.view")]
Assigner = Annotated[ApiToken, token_allowed("staff.manage")]


class AssignRequest(BaseModel):
    """One guide, and the customers: a segment's members, customer ids or phones."""

    model_config = ConfigDict(extra="forbid")
    guide_id: RowId
    segment: Text64 | None = None
    customer_ids: Annotated[list[RowId], Field(max_length=100_000)] | None = None
    phones: Annotated[list[Text64], Field(max_length=100_000)] | None = None
    only_unowned: bool = Field(False, description="Leave customers with an active guide be.")


@router.post(
    "/assign",
    summary="Give customers a guide (a segment, ids or phones); one recorded move each",
)
def assign(body: AssignRequest, session: SessionDep, token: Assigner) -> dict:
    actor = f"token:{token.name}"
    given = [k for k in ("segment", "customer_ids", "phones") if getattr(body, k) is not None]
    if len(given) != 1:
        raise InvalidInput("give one of segment, customer_ids or phones", field="segment")
    only = body.only_unowned
    if body.segment is not None:
        done = assignment.assign_segment(
            session, body.segment, body.guide_id, actor, only_unowned=only
        )
    elif body.phones is not None:
        done = assignment.assign_list(session, body.phones, body.guide_id, actor, only_unowned=only)
    else:
        ids = body.customer_ids or []
        done = handover.assign_customers(session, ids, body.guide_id, actor, only_unowned=only)
    return done.as_dict()


@router.get("/{ref}", summary="The customer 360 by customer id or any identity value")
def show(ref: str, session: SessionDep, token: Reader) -> dict:
    return service.customer_360(session, ref, role=token.role, staff_id=token.staff_id)
