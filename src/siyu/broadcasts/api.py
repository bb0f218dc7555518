"""Management API for broadcasts (群发): write one, preview who gets it, send it, follow it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from siyu.broadcasts import service as broadcasts
from siyu.broadcasts.models import Broadcast
from siyu.core.auth import ApiToken
from siyu.core.deps import SessionDep, token_allowed
from siyu.core.limits import RowId, Text, Text40, Text64, Text200

router = APIRouter(prefix="/api/broadcasts", tags=["broadcasts"])
Reader = Annotated[ApiToken, token_allowed("broadcasts.view")]
Manager = Annotated[ApiToken, token_allowed("broadcasts.manage")]


class ChannelText(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: Text200 | None = None
    text: Text | None = None
    html: Text | None = None
    extras: dict[str, Any] = Field(
        default_factory=dict,
        description="An SMS template code and params, WeCom attachments, an official-account "
        "template: see docs/messaging.md.",
    )


class VariantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: Text40 = "A"
    weight: int = Field(1, ge=1, le=100)
    subject: Text200 | None = Field(None, description="An email's subject.")
    text: Text = Field(
        "", description="The text; {{ name }} and the customer's traits may be used."
    )
    html: Text | None = Field(None, description="An email's HTML part.")
    by_channel: dict[Text40, ChannelText] = Field(
        default_factory=dict, description="A channel's own text, where it differs."
    )


class TagFilterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    any: list[Text200] = Field(default_factory=list, max_length=100)
    all: list[Text200] = Field(default_factory=list, max_length=100)
    none: list[Text200] = Field(default_factory=list, max_length=100)


class BroadcastIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text200
    channels: list[Text40] = Field(
        ..., min_length=1, max_length=5, description="One channel, or a fallback order."
    )
    variants: list[VariantIn] = Field(..., min_length=1, max_length=5)
    segment: Text64 | None = Field(None, description="A saved segment's key.")
    tags: TagFilterIn | None = Field(None, description="Or customers by their tags.")
    customers: list[Text64] | None = Field(
        None, max_length=1_000_000, description="Or a list: customer ids or phone numbers."
    )
    purpose: Text40 = Field("marketing", description="marketing or transactional")
    holdout_percent: int = Field(0, ge=0, le=50)
    window_days: int = Field(7, ge=1, le=90, description="Orders within this many days count.")
    coupon: Text64 | None = Field(
        None, description="A coupon template's key: each customer messaged gets one coupon."
    )


class SendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: AwareDatetime | None = Field(None, description="Send at this time instead of now.")


class BroadcastOut(BaseModel):
    id: int
    name: str
    status: str
    audience: str
    segment: str | None
    channels: list[str]
    purpose: str
    holdout_percent: int
    scheduled_at: datetime | None
    planned_at: datetime | None
    planned: int = Field(description="Messages planned to be sent (not held or left out).")
    waiting: int = Field(description="Of them, not yet handed to their channel.")
    sent: int
    pending: int = Field(description="Handed over, the outcome not yet known.")
    delivered: int
    failed: int
    held_out: int
    cancelled: int
    left_out: dict[str, int] = Field(description="Customers left out, by reason.")
    coupon: str | None = Field(description="The coupon template handed out with the message.")
    coupons: dict[str, int] | None = Field(
        description="Coupons handed out: issued, redeemed, cost_fen (null: no coupon)."
    )
    unknown_in_list: int = 0


def _out(session, broadcast: Broadcast, unknown: int = 0) -> BroadcastOut:
    return BroadcastOut(
        id=broadcast.id,
        name=broadcast.name,
        status=broadcast.status,
        audience=broadcast.audience,
        segment=broadcast.segment_key,
        channels=broadcast.channels,
        purpose=broadcast.purpose,
        holdout_percent=broadcast.holdout_percent,
        scheduled_at=broadcast.scheduled_at,
        planned_at=broadcast.planned_at,
        coupon=broadcast.coupon_template,
        unknown_in_list=unknown,
        **broadcasts.counts(session, broadcast),
    )


@router.get("", summary="The newest broadcasts with their counts")
def list_all(session: SessionDep, token: Reader) -> list[BroadcastOut]:
    return [_out(session, b) for b in broadcasts.list_broadcasts(session)]


@router.post("", summary="Write a draft broadcast", status_code=201)
def create(body: BroadcastIn, session: SessionDep, token: Manager) -> BroadcastOut:
    customer_ids, unknown = None, list[str]()
    if body.customers is not None:
        customer_ids, unknown = broadcasts.ids_from_refs(session, body.customers)
    broadcast = broadcasts.create(
        session,
        name=body.name,
        actor=f"token:{token.name}",
        channels=body.channels,
        variants=[
            broadcasts.VariantSpec(
                key=v.key,
                weight=v.weight,
                subject=v.subject,
                text=v.text,
                html=v.html,
                by_channel={c: t.model_dump(exclude_none=True) for c, t in v.by_channel.items()},
            )
            for v in body.variants
        ],
        segment_key=body.segment,
        tag_filter=body.tags.model_dump() if body.tags else None,
        customer_ids=customer_ids,
        purpose=body.purpose,
        holdout_percent=body.holdout_percent,
        window_days=body.window_days,
        coupon_template=body.coupon,
    )
    return _out(session, broadcast, len(unknown))


@router.get("/{broadcast_id}", summary="A broadcast and its counts from the delivery log")
def show(broadcast_id: RowId, session: SessionDep, token: Reader) -> BroadcastOut:
    return _out(session, broadcasts.find(session, broadcast_id))


@router.get("/{broadcast_id}/preview", summary="Who would get it at a time, and who not and why")
def preview(
    broadcast_id: RowId, session: SessionDep, token: Reader, at: AwareDatetime | None = None
) -> dict[str, Any]:
    return broadcasts.preview(session, broadcasts.find(session, broadcast_id), at)


@router.post("/{broadcast_id}/send", summary="Send now, or schedule it")
def send(broadcast_id: RowId, body: SendIn, session: SessionDep, token: Manager) -> BroadcastOut:
    broadcast = broadcasts.find(session, broadcast_id)
    broadcasts.schedule(session, broadcast, body.at)
    if body.at is None or body.at <= datetime.now(UTC):
        broadcasts.plan_now(session, broadcast)
    return _out(session, broadcast)


@router.post("/{broadcast_id}/cancel", summary="Stop what is not yet handed to a channel")
def cancel(broadcast_id: RowId, session: SessionDep, token: Manager) -> BroadcastOut:
    broadcast = broadcasts.find(session, broadcast_id)
    broadcasts.cancel(session, broadcast)
    return _out(session, broadcast)
