"""Management API: the customer 360, beside the customers router's merges."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from siyu.core.auth import ApiToken
from siyu.core.deps import SessionDep, token_allowed
from siyu.profiles import service

router = APIRouter(prefix="/api/customers", tags=["customers"])
Reader = Annotated[ApiToken, token_allowed("customers.view")]


@router.get("/{ref}", summary="The customer 360 by customer id or any identity value")
def show(ref: str, session: SessionDep, token: Reader) -> dict:
    return service.customer_360(session, ref, role=token.role, staff_id=token.staff_id)
