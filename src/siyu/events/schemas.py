"""What crosses the tracking API: Segment-spec messages, validated at the edge."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

MessageType = Literal["identify", "track", "page", "screen", "group", "alias"]
if TYPE_CHECKING:
    Id = str  # what the checker sees: Message's validator turns a numeric id into its text
else:
    Id = str | int  # Segment allows a number as an id


class Message(BaseModel):
    """One Segment message. Unknown top-level fields (integrations, channel …) are ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    type: MessageType
    message_id: str | None = Field(None, alias="messageId", max_length=200)
    user_id: Id | None = Field(None, alias="userId")
    anonymous_id: Id | None = Field(None, alias="anonymousId")
    event: str | None = Field(None, max_length=200)
    name: str | None = Field(None, max_length=200)
    group_id: Id | None = Field(None, alias="groupId")
    previous_id: Id | None = Field(None, alias="previousId")
    timestamp: datetime | None = None
    original_timestamp: datetime | None = Field(None, alias="originalTimestamp")
    sent_at: datetime | None = Field(None, alias="sentAt")
    properties: dict[str, Any] = Field(default_factory=dict)
    traits: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)

    @field_validator("user_id", "anonymous_id", "group_id", "previous_id")
    @classmethod
    def _clean_id(cls, value: Id | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        text = str(value).strip()
        if len(text) > 200:
            raise ValueError(f"{_alias(info.field_name or 'id')} is longer than 200 characters")
        return text or None

    def missing(self) -> tuple[str, str] | None:
        """The field a call of this type needs and lacks, with the reason."""
        kind = self.type  # every tracked message asks: each attribute is read once
        if kind == "alias":
            if not self.user_id:
                return "userId", "alias needs userId"
            if not self.previous_id:
                return "previousId", "alias needs previousId"
            return None
        if not (self.user_id or self.anonymous_id):
            return "userId", "userId or anonymousId is required"
        if kind == "track":
            event = self.event
            if not (event and event.strip()):
                return "event", "event is required for a track call"
        elif kind == "group" and not self.group_id:
            return "groupId", "groupId is required for a group call"
        return None

    @property
    def client_timestamp(self) -> datetime | None:
        return self.original_timestamp or self.timestamp


# Message.model_validate without its Python wrapper: the tracking API validates every message of
# every request, and the wrapper is a fifth of the cost.
validate_message = Message.__pydantic_validator__.validate_python


def _alias(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


class Rejected(BaseModel):
    index: int
    field: str | None = None
    reason: str


class IngestResult(BaseModel):
    success: bool = True
    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejected] = Field(default_factory=list)
