"""Management API for journeys (旅程 / SOP): list, create from JSON or a template, show, publish,
pause. A definition's problems are answered 400 with the JSON path of each (`problems`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, model_validator

from siyu.core.auth import ApiToken
from siyu.core.deps import SessionDep, token_allowed
from siyu.core.limits import Text64
from siyu.journeys import service as journeys

router = APIRouter(prefix="/api/journeys", tags=["journeys"])
Reader = Annotated[ApiToken, token_allowed("journeys.view")]
Manager = Annotated[ApiToken, token_allowed("journeys.manage")]


class JourneyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    definition: dict[str, Any] | None = Field(
        None, description="The journey's definition (docs/journeys.md)."
    )
    template: Text64 | None = Field(
        None, description=f"Or an SOP template: {', '.join(journeys.TEMPLATES)}."
    )

    @model_validator(mode="after")
    def _one(self) -> JourneyIn:
        if (self.definition is None) == (self.template is None):
            raise ValueError("give a definition or a template")
        return self


class Entries(BaseModel):
    active: int
    completed: int
    exited: int


class JourneyOut(BaseModel):
    key: str
    name: str
    status: str = Field(description="draft, active, paused or archived")
    current_version: int | None = Field(description="The version new entries get.")
    entries: Entries
    updated_at: datetime
    updated_by: str


class VersionOut(BaseModel):
    version: int
    published_at: datetime | None
    published_by: str | None
    created_at: datetime
    created_by: str
    steps: int


class JourneyDetail(JourneyOut):
    created_at: datetime
    created_by: str
    versions: list[VersionOut]
    steps: dict[str, dict[str, int]] = Field(description="Per step id: runs by status.")
    definition: dict[str, Any] = Field(description="The latest version's definition.")


def _actor(token: ApiToken) -> str:
    return f"token:{token.name}"


@router.get("", summary="Every journey with its status and entries")
def list_all(session: SessionDep, token: Reader) -> list[JourneyOut]:
    return [JourneyOut(**journeys.summary(o)) for o in journeys.list_journeys(session)]


@router.post("", summary="Create a journey in draft", status_code=201)
def create(body: JourneyIn, session: SessionDep, token: Manager) -> JourneyDetail:
    document = body.definition or journeys.template(body.template or "")
    journey = journeys.create_journey(session, document, _actor(token))
    return JourneyDetail(**journeys.show(session, journey.key))


@router.get("/{journey_key}", summary="A journey: versions, entries by status, per-step runs")
def show(journey_key: Text64, session: SessionDep, token: Reader) -> JourneyDetail:
    return JourneyDetail(**journeys.show(session, journey_key))


@router.post("/{journey_key}/publish", summary="Publish the draft as the version new entries get")
def publish(journey_key: Text64, session: SessionDep, token: Manager) -> JourneyDetail:
    journeys.publish(session, journey_key, _actor(token))
    return JourneyDetail(**journeys.show(session, journey_key))


@router.post("/{journey_key}/pause", summary="Pause: no one enters and no step runs")
def pause(journey_key: Text64, session: SessionDep, token: Manager) -> JourneyDetail:
    journeys.pause(session, journey_key, _actor(token))
    return JourneyDetail(**journeys.show(session, journey_key))
