"""What crosses the management API for stores, teams and staff."""

from __future__ import annotations

from typing import Annotated, Literal

from annotated_types import Ge, Le
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from siyu.core.limits import RowId, Text, Text64, Text200
from siyu.staff.models import Staff, Store, Team

Role = Literal["guide", "persona", "assistant", "manager"]
# A guide's daily contact limit and contact-way URL, as the API and the console's forms take them.
ContactLimit = Annotated[int, Ge(0), Le(1_000_000)]
ContactWayUrl = Annotated[Text, StringConstraints(max_length=1000)]


class StoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Text64 = Field(description="Letters, digits, - and _; unique.")
    name: Text200
    city: Text200 | None = None


class StoreChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Text64 | None = None
    name: Text200 | None = None
    city: Text200 | None = None


class StoreOut(BaseModel):
    id: int
    code: str
    name: str
    city: str | None


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text200
    store_id: RowId | None = None


class TeamOut(BaseModel):
    id: int
    name: str
    store_id: int | None


class StaffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text200
    role: Role = "guide"
    store_id: RowId | None = None
    team_id: RowId | None = None
    manager_id: RowId | None = None
    wecom_userid: Text64 | None = Field(None, description="Only when the brand uses WeCom.")
    contact_limit: ContactLimit | None = None
    contact_way_url: ContactWayUrl | None = None


class StaffChange(BaseModel):
    """Only the fields sent change; `store_id: null` takes a guide out of their store."""

    model_config = ConfigDict(extra="forbid")
    name: Text200 | None = None
    role: Role | None = None
    status: Literal["active", "left"] | None = None
    store_id: RowId | None = None
    team_id: RowId | None = None
    manager_id: RowId | None = None
    contact_limit: ContactLimit | None = None
    contact_way_url: ContactWayUrl | None = None


class StaffOut(BaseModel):
    id: int
    name: str
    role: str
    status: str
    store_id: int | None
    team_id: int | None
    manager_id: int | None
    wecom_userid: str | None
    contact_limit: int | None
    contact_way_url: str | None


def store_out(store: Store) -> StoreOut:
    return StoreOut.model_validate(store, from_attributes=True)


def team_out(team: Team) -> TeamOut:
    return TeamOut.model_validate(team, from_attributes=True)


def staff_out(staff: Staff) -> StaffOut:
    return StaffOut.model_validate(staff, from_attributes=True)
