"""Consent and suppression (同意与屏蔽): who may be sent marketing on which channel, the record
of every consent given or withdrawn (PIPL asks for it), the addresses nothing goes to, and the
events reach writes to the lake.

An unsubscribe takes effect for every message not yet handed to a provider: the planned
deliveries it concerns are cancelled here, and the dispatcher checks again just before sending
(messaging.dispatch), so a delivery planned after this moment is caught too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.core import jobs
from siyu.core.db import utcnow
from siyu.core.errors import InvalidInput, NotFound
from siyu.core.i18n import N_
from siyu.customers import identity as ids
from siyu.customers import service as customers
from siyu.customers.models import Customer, Identity
from siyu.events import service as events
from siyu.messaging.models import (
    CHANNELS,
    CONSENT_METHODS,
    CONSENT_STATUSES,
    SUPPRESSION_REASONS,
    Consent,
    ConsentChange,
    Delivery,
    Suppression,
)
from siyu.touchpoints import service as touchpoints
from siyu.touchpoints.models import Touchpoint

SOURCE = "messaging"
DISPATCH_KIND = "messaging.dispatch"
# The identity (customers.identity) that is a customer's address on each channel.
ADDRESS_TYPES = {
    "sms": "phone",
    "call": "phone",
    "email": "email",
    "official_account": "wechat_openid",
    "wecom": "wecom_external_userid",
}
# Marketing on these needs a recorded subscription; WeCom contacts and official-account followers
# chose to connect, so they are reachable unless they unsubscribed.
NEEDS_SUBSCRIPTION = frozenset({"sms", "email", "call"})
# Suppressions that stop transactional messages too: the address cannot or must not be reached.
STOPS_TRANSACTIONAL = frozenset({"bounced", "do_not_call"})
# How an unsubscribe by address (unsubscribe_address) is remembered on the suppression list.
SUPPRESSION_FOR_METHOD = {
    "reply": "replied_unsubscribe",
    "call_outcome": "do_not_call",
    "platform": "unfollowed",
}
# A subscription the customer gives again themselves lifts the suppressions an earlier
# unsubscribe left; an import never does (an old list must not undo a withdrawal).
UNSUBSCRIBE_REASONS = ("manual", "replied_unsubscribe")
CUSTOMER_METHODS = frozenset({"form", "reply", "one_click"})
IMPORT_HEADERS = frozenset(
    {"id", "customer_id", "phone", "mobile", "email", "openid", "external_userid", "member_id"}
    | {"user_id", "手机", "手机号", "邮箱", "会员号"}
)
MAX_SOURCE = 200


def check_channel(channel: str, name: str = "channel") -> str:
    if channel not in CHANNELS:
        raise InvalidInput(
            N_("unknown channel (one of: {0})").format(", ".join(CHANNELS)), field=name
        )
    return channel


def _check_choice(value: str, allowed: Sequence[str], name: str) -> str:
    if value not in allowed:
        raise InvalidInput(f"unknown {name} {value!r} (one of: {', '.join(allowed)})", field=name)
    return value


def _check_source(source: str) -> str:
    text = (source or "").strip()
    if not text or len(text) > MAX_SOURCE or "\x00" in text:
        raise InvalidInput(N_("say where the consent came from (1-200 characters)"), field="source")
    return text


def set_consent(
    session: Session,
    customer_id: int,
    channel: str,
    status: str,
    *,
    method: str,
    source: str,
    actor: str,
    at: datetime | None = None,
) -> Consent:
    """Record a customer's consent on a channel (and its history); the caller commits.

    The same status again changes nothing (the first record of it stands). An unsubscribe
    cancels the customer's planned marketing on that channel and writes `Unsubscribed`.
    """
    check_channel(channel)
    _check_choice(status, CONSENT_STATUSES, "status")
    _check_choice(method, CONSENT_METHODS, "method")
    source = _check_source(source)
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(N_("no such customer"), field="id")
    customer = customers.survivor(session, customer)
    at = at or utcnow()
    consent = session.scalar(
        select(Consent).where(Consent.customer_id == customer.id, Consent.channel == channel)
    )
    if consent is not None and consent.status == status:
        return consent
    if consent is None:
        consent = Consent(customer_id=customer.id, channel=channel)
        session.add(consent)
    consent.status, consent.method, consent.source = status, method, source
    consent.changed_at, consent.changed_by = at, actor
    change = ConsentChange(
        customer_id=customer.id,
        channel=channel,
        status=status,
        method=method,
        source=source,
        changed_at=at,
        changed_by=actor,
    )
    session.add(change)
    session.flush()
    if status == "unsubscribed":
        _cancel_planned(session, channel, customer_ids=customers.merged_ids(session, customer.id))
        _record_unsubscribed(session, change)
    elif method in CUSTOMER_METHODS or method in ("console", "api", "cli"):
        _lift_unsubscribe_suppressions(session, customer.id, channel)
    return consent


def _cancel_planned(
    session: Session,
    channel: str,
    *,
    customer_ids: list[int] | None = None,
    address: str | None = None,
    transactional_too: bool = False,
) -> int:
    """Cancel planned (not yet handed over) deliveries on a channel to these customers or to
    this address: marketing ones, and transactional ones too when the address is unreachable."""
    where = [Delivery.channel == channel, Delivery.status == "planned"]
    if not transactional_too:
        where.append(Delivery.purpose == "marketing")
    if customer_ids is not None:
        where.append(Delivery.customer_id.in_(customer_ids))
    if address is not None:
        where.append(Delivery.address == address)
    done = session.execute(
        update(Delivery)
        .where(*where)
        .values(status="cancelled", reason="unsubscribed" if address is None else "suppressed")
        .execution_options(synchronize_session=False)
    )
    return int(getattr(done, "rowcount", 0) or 0)


def _lift_unsubscribe_suppressions(session: Session, customer_id: int, channel: str) -> None:
    lifted = session.scalars(
        select(Suppression).where(
            Suppression.customer_id == customer_id,
            Suppression.channel == channel,
            Suppression.reason.in_(UNSUBSCRIBE_REASONS),
        )
    ).all()
    for row in lifted:
        session.delete(row)
    session.flush()


def _record_unsubscribed(session: Session, change: ConsentChange) -> None:
    events.record(
        session,
        SOURCE,
        [
            events.event_row(
                message_id=f"unsubscribed-{change.id}",
                source=SOURCE,
                event="Unsubscribed",
                customer_id=change.customer_id,
                timestamp=change.changed_at,
                original_timestamp=change.changed_at,
                received_at=utcnow(),
                properties={
                    "channel": change.channel,
                    "method": change.method,
                    "source": change.source,
                },
            )
        ],
    )


def normal_address(channel: str, address: str) -> str:
    """An address in its identity's normal form (a phone without +86, an email lower-cased)."""
    check_channel(channel)
    value = ids.normalize(ADDRESS_TYPES[channel], address)
    if value is None:
        raise InvalidInput(N_("not an address on this channel"), field="address")
    return value


def suppress(
    session: Session,
    channel: str,
    address: str,
    reason: str,
    *,
    source: str,
    customer_id: int | None = None,
) -> Suppression:
    """Put an address on the suppression list (once: a second call returns the first row) and
    cancel the planned deliveries to it; the caller commits."""
    _check_choice(reason, SUPPRESSION_REASONS, "reason")
    address = normal_address(channel, address)
    row = session.scalar(
        select(Suppression).where(Suppression.channel == channel, Suppression.address == address)
    )
    if row is None:
        row = Suppression(
            channel=channel,
            address=address,
            reason=reason,
            source=_check_source(source),
            customer_id=customer_id,
        )
        session.add(row)
        session.flush()
    _cancel_planned(
        session, channel, address=address, transactional_too=row.reason in STOPS_TRANSACTIONAL
    )
    return row


def unsubscribe_address(
    session: Session, channel: str, address: str, *, method: str, source: str, actor: str
) -> list[int]:
    """Unsubscribe every customer holding this address on the channel (an SMS reply "TD", a
    one-click email unsubscribe) and suppress the address; the customers' ids."""
    address = normal_address(channel, address)
    owners = customers_at(session, channel, [address]).get(address, [])
    for customer_id in owners:
        set_consent(
            session, customer_id, channel, "unsubscribed", method=method, source=source, actor=actor
        )
    reason = SUPPRESSION_FOR_METHOD.get(method, "manual")
    suppress(
        session,
        channel,
        address,
        reason,
        source=source,
        customer_id=owners[0] if owners else None,
    )
    return owners


def customers_at(session: Session, channel: str, addresses: list[str]) -> dict[str, list[int]]:
    """The customers (after merges) holding each of these normal-form addresses on a channel."""
    kind = ADDRESS_TYPES[check_channel(channel)]
    found: dict[str, list[int]] = {}
    rows = session.execute(
        select(Identity.value, Identity.customer_id, Customer.merged_into_id)
        .join(Customer, Customer.id == Identity.customer_id)
        .where(Identity.type == kind, Identity.value.in_(addresses))
        .order_by(Identity.customer_id)
    )
    for value, customer_id, merged_into in rows:
        if merged_into is not None:
            customer_id = customers.survivor(session, session.get_one(Customer, customer_id)).id
        if customer_id not in found.setdefault(value, []):
            found[value].append(customer_id)
    return found


def consent_of(session: Session, customer_id: int) -> dict[str, Consent | None]:
    """A customer's consent on every channel (None: nothing recorded)."""
    rows = session.scalars(select(Consent).where(Consent.customer_id == customer_id)).all()
    by_channel = {row.channel: row for row in rows}
    return {channel: by_channel.get(channel) for channel in CHANNELS}


def is_reachable(channel: str, status: str | None) -> bool:
    """Whether marketing may go to a customer whose consent on the channel is `status`."""
    if status == "unsubscribed":
        return False
    return status == "subscribed" or channel not in NEEDS_SUBSCRIPTION


@dataclass
class ConsentImport:
    """What an import did: customers subscribed, already subscribed, kept unsubscribed (an
    import never undoes a withdrawal), and the values that named no customer."""

    subscribed: int = 0
    unchanged: int = 0
    kept_unsubscribed: int = 0
    unknown: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "subscribed": self.subscribed,
            "unchanged": self.unchanged,
            "kept_unsubscribed": self.kept_unsubscribed,
            "unknown": len(self.unknown),
            "unknown_values": self.unknown[:100],
        }


def import_consents(
    session: Session,
    rows: Iterable[Sequence[str] | str],
    channel: str,
    source: str,
    actor: str,
    at: datetime | None = None,
) -> ConsentImport:
    """Subscribe the customers a list names on a channel. Each row's first column is any
    identity value (phone, email, member id, openid, external userid, user id) or a customer
    id; values naming no one are reported, not fatal. The caller commits."""
    check_channel(channel)
    source, at = _check_source(source), at or utcnow()
    refs = [_first(row) for row in rows]
    refs = [ref for ref in refs if ref]
    if refs and refs[0].lower() in IMPORT_HEADERS:
        refs = refs[1:]
    keys = {ref: (ref.lower() if "@" in ref else ref) for ref in refs}
    found = customers.customers_by_ref(session, set(keys.values()))
    result = ConsentImport(unknown=[ref for ref in refs if keys[ref] not in found])
    wanted = sorted({found[keys[ref]] for ref in refs if keys[ref] in found})
    current = _current_status(session, wanted, channel)
    for customer_id in wanted:
        status = current.get(customer_id)
        if status == "unsubscribed":
            result.kept_unsubscribed += 1
        elif status == "subscribed":
            result.unchanged += 1
        else:
            set_consent(
                session,
                customer_id,
                channel,
                "subscribed",
                method="import",
                source=source,
                actor=actor,
                at=at,
            )
            result.subscribed += 1
    return result


def _first(row: Sequence[str] | str) -> str:
    if isinstance(row, str):
        return row.strip()
    return str(row[0]).strip() if row else ""


def _current_status(session: Session, customer_ids: list[int], channel: str) -> dict[int, str]:
    found: dict[int, str] = {}
    for start in range(0, len(customer_ids), 500):
        rows = session.execute(
            select(Consent.customer_id, Consent.status).where(
                Consent.channel == channel,
                Consent.customer_id.in_(customer_ids[start : start + 500]),
            )
        )
        found.update({customer_id: status for customer_id, status in rows})
    return found


# The events of a delivery's life, each written once (its messageId derives from the delivery).
MESSAGE_EVENTS = {
    "Message Planned": "planned",
    "Message Sent": "sent",
    "Message Delivered": "delivered",
    "Message Failed": "failed",
    "Message Clicked": "clicked",
}


# A message that reached a customer is a touch (触点) of its channel, so attribution credits
# messages as it credits scans: `Message Sent` and `Message Clicked` carry the channel's
# touchpoint code (a failed or held-out message touched no one).
MESSAGE_TOUCHPOINTS = {
    "wecom": "message-wecom",
    "official_account": "message-official-account",
    "sms": "message-sms",
    "email": "message-email",
    "call": "message-call",
}
TOUCH_EVENTS = frozenset({"Message Sent", "Message Clicked"})
# Each message touchpoint's registry entry: name, group (touchpoints.labels) and entry type.
TOUCHPOINT_ENTRIES = {
    "message-wecom": ("企业微信消息 WeCom message", "guide", "owned"),
    "message-official-account": ("公众号消息 Official account", "official_account", "owned"),
    "message-sms": ("短信 SMS", "sms", "owned"),
    "message-email": ("邮件 Email", "other", "owned"),
    "message-call": ("外呼 Outbound call", "other", "owned"),
}


def message_touchpoint(channel: str) -> str | None:
    """The touchpoint code a message on this channel counts as."""
    return MESSAGE_TOUCHPOINTS.get(channel)


def register_message_touchpoints(session: Session, rows: list[dict[str, Any]]) -> None:
    """Register the message touchpoints these outbox rows name that the registry does not hold
    yet (a subscriber of events' one writer, before the one that keeps unknown codes): once
    registered, an operator's renaming stands."""
    wanted = {row["touchpoint"] for row in rows if row.get("touchpoint") in TOUCHPOINT_ENTRIES}
    if not wanted:
        return
    known = set(session.scalars(select(Touchpoint.code).where(Touchpoint.code.in_(wanted))))
    for code in sorted(wanted - known):
        name, group, entry_type = TOUCHPOINT_ENTRIES[code]
        touchpoints.register(session, code, name, group, entry_type)


def message_event(
    delivery: Delivery, event: str, at: datetime, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One of a delivery's events (`Message Sent`, …) as an outbox row, by customer id (no
    identity resolution: a message moves none of the customer's own times). A sent or clicked
    message carries its channel's touchpoint (MESSAGE_TOUCHPOINTS)."""
    properties = {
        "delivery_id": delivery.id,
        "channel": delivery.channel,
        "purpose": delivery.purpose,
        "origin": delivery.origin,
        "origin_id": delivery.origin_id,
        "variant": delivery.variant,
        "step": delivery.step,
        "guide": delivery.guide_id,
        **(extra or {}),
    }
    return events.event_row(
        message_id=f"msg-{MESSAGE_EVENTS[event]}-{delivery.id}",
        source=SOURCE,
        event=event,
        customer_id=delivery.customer_id,
        timestamp=at,
        original_timestamp=at,
        received_at=utcnow(),
        touchpoint=message_touchpoint(delivery.channel) if event in TOUCH_EVENTS else None,
        properties={key: value for key, value in properties.items() if value is not None},
    )


def record_message_events(
    session: Session,
    event: str,
    deliveries: Sequence[Delivery],
    at: datetime | None = None,
) -> None:
    """Write `event` once for each of these deliveries (the caller makes sure it is their first
    time: a second write of the same messageId fails on the dedup key)."""
    at = at or utcnow()
    rows = [message_event(delivery, event, at) for delivery in deliveries]
    for start in range(0, len(rows), 500):
        events.record(session, SOURCE, rows[start : start + 500])


def record_events(session: Session, rows: list[dict[str, Any]]) -> None:
    """Write reach's events (rows from message_event) under the `messaging` source."""
    if rows:
        events.record(session, SOURCE, rows)


def request_dispatch(session: Session, at: datetime | None = None) -> None:
    """Ask for a dispatch run at `at` (now by default), in the caller's transaction: planners
    call it after planning so that what is due goes out without waiting for the minute's tick.
    One job per second asked for, however many ask."""
    at = at or utcnow()
    jobs.enqueue(session, DISPATCH_KIND, f"{DISPATCH_KIND}:{at:%Y%m%dT%H%M%S}", run_at=at)
