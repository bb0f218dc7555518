"""Management API for stores, teams and staff: a brand sets them up with or without WeCom."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from siyu.core.auth import ApiToken
from siyu.core.deps import SessionDep, token_allowed
from siyu.core.limits import RowId
from siyu.staff import service
from siyu.staff.schemas import (
    StaffChange,
    StaffIn,
    StaffOut,
    StoreChange,
    StoreIn,
    StoreOut,
    TeamIn,
    TeamOut,
    staff_out,
    store_out,
    team_out,
)

router = APIRouter(prefix="/api", tags=["staff"])
Reader = Annotated[ApiToken, token_allowed("staff.view")]
Manager = Annotated[ApiToken, token_allowed("staff.manage")]


@router.get("/stores", summary="Every store")
def list_stores(session: SessionDep, token: Reader) -> list[StoreOut]:
    return [store_out(s) for s in service.list_stores(session)]


@router.post("/stores", summary="Open a store (a code in use is refused: 409)", status_code=201)
def add_store(body: StoreIn, session: SessionDep, token: Manager) -> StoreOut:
    return store_out(service.add_store(session, body.code, body.name, body.city))


@router.patch("/stores/{store_id}", summary="Rename a store, change its city or code")
def change_store(
    store_id: RowId, body: StoreChange, session: SessionDep, token: Manager
) -> StoreOut:
    fields = body.model_dump(exclude_unset=True)
    return store_out(service.update_store(session, store_id, **fields))


@router.get("/teams", summary="Every team")
def list_teams(session: SessionDep, token: Reader) -> list[TeamOut]:
    return [team_out(t) for t in service.list_teams(session)]


@router.post("/teams", summary="Make a team (one by name: an existing one is updated)")
def add_team(body: TeamIn, session: SessionDep, token: Manager) -> TeamOut:
    return team_out(service.create_team(session, body.name, body.store_id))


@router.get("/staff", summary="Every staff member (guides, persona accounts, assistants…)")
def list_staff(session: SessionDep, token: Reader, status: str | None = None) -> list[StaffOut]:
    return [staff_out(s) for s in service.list_staff(session, status)]


@router.post("/staff", summary="Take a staff member on (no WeCom needed)", status_code=201)
def add_staff(body: StaffIn, session: SessionDep, token: Manager) -> StaffOut:
    others = body.model_dump(
        exclude_unset=True, exclude={"name", "role", "store_id", "wecom_userid"}
    )
    staff = service.create_staff(
        session, body.name, body.role, body.store_id, body.wecom_userid, **others
    )
    return staff_out(staff)


@router.patch(
    "/staff/{staff_id}",
    summary="Change a staff member: name, role, store (moving them), status (left), team…",
)
def change_staff(
    staff_id: RowId, body: StaffChange, session: SessionDep, token: Manager
) -> StaffOut:
    return staff_out(service.update_staff(session, staff_id, **body.model_dump(exclude_unset=True)))
