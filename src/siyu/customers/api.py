"""Management API for customers: merge and undo (the 360 is siyu.profiles.api)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel

from siyu.core.auth import ApiToken
from siyu.core.deps import SessionDep, token_allowed
from siyu.core.limits import RowId, Text200
from siyu.customers import service

router = APIRouter(prefix="/api/customers", tags=["customers"])
Operator = Annotated[ApiToken, token_allowed("customers.edit")]


class MergeRequest(BaseModel):
    merged: Text200
    kept: Text200


@router.post("/merge", summary="Merge customer `merged` into customer `kept`")
def merge(body: MergeRequest, session: SessionDep, token: Operator) -> dict:
    record = service.merge_customers(session, body.merged, body.kept, f"token:{token.name}")
    return {"merge_id": record.id, "kept_id": record.kept_id, "merged_id": record.merged_id}


@router.post("/merges/{merge_id}/undo", summary="Undo a merge from its record")
def undo(merge_id: RowId, session: SessionDep, token: Operator) -> dict:
    record = service.undo_merge(session, merge_id, f"token:{token.name}")
    undone_at = record.undone_at.isoformat() if record.undone_at else None
    return {"merge_id": record.id, "undone_at": undone_at}
