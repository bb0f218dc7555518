"""What SMS providers push back: delivery receipts and customers' replies (上行短信).

Alibaba Cloud (SmsReport, SmsUp: HTTP batch push) and Tencent Cloud (status and reply callbacks)
sign none of these requests, so each address carries a secret the brand gives the provider
(SIYU_SMS_CALLBACK_TOKEN): `/sms/aliyun/report/{token}`, `/sms/aliyun/up/{token}`,
`/sms/tencent/status/{token}`, `/sms/tencent/reply/{token}`. A push is applied in the request's
one transaction and answered in the provider's format; a provider pushes again until it is
answered, and applying the same push twice changes nothing (a receipt moves a delivery only
forward; a reply is kept once under its natural key).

A receipt moves its delivery to delivered or failed (dispatch.record_outcomes). A reply is kept
(InboundReply), marks the latest message to that number replied, writes `Message Replied`, and
an unsubscribe word ("T", "TD", "N", "退订", "退") unsubscribes the number from SMS.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.core.db import utcnow
from siyu.core.deps import SessionDep, raw_body
from siyu.core.errors import Forbidden, InvalidInput, NotFound
from siyu.core.settings import get_settings
from siyu.customers import identity as ids
from siyu.events import service as events
from siyu.messaging import dispatch, service
from siyu.messaging.models import Delivery, InboundReply
from siyu.messaging.sending import Outcome

log = logging.getLogger("siyu.messaging")
router = APIRouter(prefix="/sms", tags=["sms"])
# A push holds up to a few hundred receipts of some 300 bytes each.
PushBody = Annotated[bytes, raw_body(512 * 1024)]
MAX_ITEMS = 1000
UNSUBSCRIBE_WORDS = frozenset({"t", "td", "n", "退订", "退"})
ALIYUN_OK = {"code": 0, "msg": "接收成功"}
TENCENT_OK = {"result": 0, "errmsg": "OK"}

Short = Annotated[str, Field(max_length=128)]


class _Item(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class AliyunReport(_Item):
    """One SmsReport receipt."""

    phone_number: Short
    success: bool
    biz_id: Short = ""
    out_id: Annotated[str, Field(max_length=256)] = ""
    err_code: Short = ""
    err_msg: Short = ""


class AliyunUp(_Item):
    """One SmsUp message (a customer's reply)."""

    phone_number: Short
    content: Annotated[str, Field(max_length=2000)]
    sequence_id: Short
    sign_name: Short = ""


class TencentStatus(_Item):
    """One status report (回执) of Tencent's callback."""

    mobile: Short
    nationcode: Short = "86"
    report_status: Literal["SUCCESS", "FAIL"]
    sid: Short
    errmsg: Short = ""
    description: Short = ""


class TencentReply(_Item):
    """A reply as Tencent calls it back."""

    mobile: Short
    nationcode: Short = "86"
    text: Annotated[str, Field(max_length=2000)]
    time: int
    sign: Short = ""


@dataclass(frozen=True)
class Receipt:
    provider_id: str
    phone: str
    delivered: bool
    error: str = ""
    key: str = ""  # the delivery's key, where the provider hands it back (Aliyun's OutId)


@dataclass(frozen=True)
class Reply:
    key: str  # the provider's natural key
    phone: str
    text: str


def _parsed(body: bytes, model: type[_Item], *, single: bool = False) -> list[Any]:
    """The push's items, validated; a bad one → 400 naming it (`3.phone_number`)."""
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidInput("the body is not JSON", field="body") from None
    if single and isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise InvalidInput("the body is a JSON array", field="body")
    if len(raw) > MAX_ITEMS:
        raise InvalidInput(f"at most {MAX_ITEMS} items in one push", field="body")
    try:
        return TypeAdapter(list[model]).validate_python(raw)  # type: ignore[valid-type]
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise InvalidInput(f"{field}: {first['msg']}", field=field) from None


def _check_token(token: str) -> None:
    expected = get_settings().sms_callback_token
    if not expected:
        raise NotFound("SMS callbacks are not set up (SIYU_SMS_CALLBACK_TOKEN)")
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise Forbidden("wrong callback token", field="token")


@router.post("/aliyun/report/{token}")
def aliyun_report(token: str, body: PushBody, session: SessionDep) -> dict[str, Any]:
    _check_token(token)
    items = _parsed(body, AliyunReport)
    apply_receipts(
        session,
        [
            Receipt(
                i.biz_id, i.phone_number, i.success, f"{i.err_code} {i.err_msg}".strip(), i.out_id
            )
            for i in items
        ],
    )
    return ALIYUN_OK


@router.post("/aliyun/up/{token}")
def aliyun_up(token: str, body: PushBody, session: SessionDep) -> dict[str, Any]:
    _check_token(token)
    items = _parsed(body, AliyunUp)
    apply_replies(
        session, [Reply(f"aliyun:{i.sequence_id}", i.phone_number, i.content) for i in items]
    )
    return ALIYUN_OK


@router.post("/tencent/status/{token}")
def tencent_status(token: str, body: PushBody, session: SessionDep) -> dict[str, Any]:
    _check_token(token)
    items = _parsed(body, TencentStatus)
    apply_receipts(
        session,
        [
            Receipt(
                i.sid,
                _phone(i.nationcode, i.mobile),
                i.report_status == "SUCCESS",
                f"{i.errmsg} {i.description}".strip(),
            )
            for i in items
        ],
    )
    return TENCENT_OK


@router.post("/tencent/reply/{token}")
def tencent_reply(token: str, body: PushBody, session: SessionDep) -> dict[str, Any]:
    _check_token(token)
    items = _parsed(body, TencentReply, single=True)
    apply_replies(session, [_tencent_reply(i) for i in items])
    return TENCENT_OK


def _phone(nationcode: str, mobile: str) -> str:
    return mobile if nationcode in ("", "86") else f"+{nationcode}{mobile}"


def _tencent_reply(item: TencentReply) -> Reply:
    # Tencent gives a reply no id of its own: the number, its time and its text make one.
    phone = _phone(item.nationcode, item.mobile)
    digest = hashlib.sha256(f"{phone}\n{item.time}\n{item.text}".encode()).hexdigest()[:32]
    return Reply(f"tencent:{digest}", phone, item.text)


def apply_receipts(session: Session, receipts: Sequence[Receipt]) -> int:
    """Move each receipt's delivery to delivered or failed; how many matched a delivery."""
    found = _deliveries_of(session, receipts)
    outcomes = []
    for receipt in receipts:
        delivery_id = found.get(receipt.key) or found.get(receipt.provider_id)
        if delivery_id is None:
            delivery_id = _still_sending(session, receipt.phone)
        if delivery_id is None:
            continue
        pid = receipt.provider_id or None
        if receipt.delivered:
            outcomes.append(Outcome(delivery_id, "delivered", provider_id=pid))
        else:
            error = f"receipt: {receipt.error}"
            outcomes.append(Outcome(delivery_id, "failed", provider_id=pid, error=error))
    if len(outcomes) < len(receipts):
        log.warning("sms: %d receipts match no delivery", len(receipts) - len(outcomes))
    dispatch.record_outcomes(session, outcomes)
    return len(outcomes)


def _still_sending(session: Session, phone: str) -> int | None:
    """The one delivery to this number still waiting for its provider id: a receipt can come
    back before the dispatcher has recorded the provider's answer (Tencent's names the message
    only by that id). None when there is not exactly one."""
    number = ids.normalize_phone(phone)
    if number is None:
        return None
    waiting = session.scalars(
        select(Delivery.id)
        .where(
            Delivery.channel == "sms",
            Delivery.address == number,
            Delivery.status == "sending",
            Delivery.provider_id.is_(None),
        )
        .limit(2)
    ).all()
    return waiting[0] if len(waiting) == 1 else None


def _deliveries_of(session: Session, receipts: Sequence[Receipt]) -> dict[str, int]:
    """Deliveries by key (the OutId a receipt hands back) and by provider id."""
    keys = [r.key for r in receipts if r.key]
    provider_ids = [r.provider_id for r in receipts if r.provider_id]
    found: dict[str, int] = {}
    if keys:
        by_key = select(Delivery.key, Delivery.id).where(
            Delivery.channel == "sms", Delivery.key.in_(keys)
        )
        found.update({key: id_ for key, id_ in session.execute(by_key)})
    if provider_ids:
        by_provider = select(Delivery.provider_id, Delivery.id).where(
            Delivery.channel == "sms", Delivery.provider_id.in_(provider_ids)
        )
        found.update({pid: id_ for pid, id_ in session.execute(by_provider) if pid})
    return found


def is_unsubscribe(text: str) -> bool:
    return text.strip().casefold() in UNSUBSCRIBE_WORDS


def apply_replies(session: Session, replies: Sequence[Reply]) -> int:
    """Keep each reply once and apply it; how many were new."""
    now = utcnow()
    taken = set(
        session.scalars(
            select(InboundReply.key).where(InboundReply.key.in_([r.key for r in replies]))
        )
    )
    new = 0
    for reply in replies:
        if reply.key in taken:
            continue
        taken.add(reply.key)
        new += _apply_reply(session, reply, now)
    return new


def _apply_reply(session: Session, reply: Reply, now: datetime) -> int:
    phone = ids.normalize_phone(reply.phone)
    row = InboundReply(
        channel="sms",
        key=reply.key,
        address=phone or reply.phone,
        text=reply.text,
        action="none",
        received_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # the same push, applied by another request at the same moment
        return 0
    if phone is None:  # kept for a person to read; no customer can be named by it
        return 1
    latest = _latest_delivery(session, phone)
    # The reply answers the latest message to the number; without one, whoever holds it.
    owners = service.customers_at(session, "sms", [phone]).get(phone, [])
    repliers = [latest.customer_id] if latest is not None else owners
    row.customer_id = repliers[0] if repliers else None
    if latest is not None:
        row.delivery_id = latest.id
        latest.replied_at = latest.replied_at or now
    if is_unsubscribe(reply.text):
        service.unsubscribe_address(
            session,
            "sms",
            phone,
            method="reply",
            source=f"SMS reply {reply.text.strip()[:20]!r}",
            actor="customer",
        )
        row.action = "unsubscribed"
    _record_replied(session, row, latest, repliers, now)
    session.flush()
    return 1


def _latest_delivery(session: Session, phone: str) -> Delivery | None:
    return session.scalar(
        select(Delivery)
        .where(
            Delivery.channel == "sms",
            Delivery.address == phone,
            Delivery.sent_at.is_not(None),
        )
        .order_by(Delivery.sent_at.desc(), Delivery.id.desc())
        .limit(1)
    )


def _record_replied(
    session: Session,
    row: InboundReply,
    delivery: Delivery | None,
    customer_ids: list[int],
    now: datetime,
) -> None:
    properties: dict[str, Any] = {"channel": "sms", "unsubscribe": row.action == "unsubscribed"}
    if delivery is not None:
        properties.update(
            delivery_id=delivery.id,
            origin=delivery.origin,
            origin_id=delivery.origin_id,
            variant=delivery.variant,
            step=delivery.step,
        )
    rows = [
        events.event_row(
            message_id=f"sms-replied-{row.id}-{customer_id}",
            source=service.SOURCE,
            event="Message Replied",
            customer_id=customer_id,
            timestamp=now,
            original_timestamp=now,
            received_at=now,
            properties={k: v for k, v in properties.items() if v is not None},
        )
        for customer_id in customer_ids
    ]
    if rows:
        events.record(session, service.SOURCE, rows)
