"""Who may be reached, on which channel, and when: `decide` for one recipient (journeys) and
`plan` / `preview` for a whole audience in set-based SQL (broadcasts). The two agree.

For each channel of the fallback order, in order, a recipient is checked: an address on it (a
WeCom contact also needs an active guide with a WeCom userid), no suppression of that address,
consent (marketing: WeCom contacts and official-account followers unless they unsubscribed; SMS,
email and calls only with a `subscribed` row), the send time (moved out of quiet hours to the
window's opening in the recipient's zone), the brand's caps in the recipient's calendar period of
that send time, and the platform's own limits in the brand's calendar. The first channel that
passes is the one; if none does, the recipient is left out with the reason of the channel that
got furthest through the checks (a capped customer is "capped", not "no_consent" on a channel
they never subscribed to). Transactional messages need no consent and skip caps and quiet hours,
but still honour suppressions that mean the address cannot receive (bounced, do-not-call,
unfollowed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    Integer,
    String,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    literal_column,
    select,
)
from sqlalchemy.orm import Session

from siyu.core.db import UTCDateTime, table_of, utcnow
from siyu.core.settings import get_settings
from siyu.customers.models import Customer, Identity
from siyu.messaging.clock import days_in_month, opening, period_bounds, zone_of
from siyu.messaging.models import Consent, Delivery, Suppression
from siyu.messaging.plan_sql import (
    ADDRESS_TYPES,
    CAPPED,
    COUNTED,
    NO_CHANNEL,
    NO_CONSENT,
    OPT_IN,
    PLATFORM_LIMIT,
    REASONS,
    SUPPRESSED,
    UNREACHABLE,
    PlanStatement,
    check_channels,
    not_prefixed,
)
from siyu.messaging.policy import Policy, load_policy
from siyu.staff.models import Staff

# ---- one recipient ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """A delivery already in the log that caps and platform limits count."""

    channel: str
    send_at: datetime
    purpose: str = "marketing"


@dataclass(frozen=True)
class Recipient:
    customer_id: int
    zone: ZoneInfo
    addresses: Mapping[str, Sequence[str]]  # channel → the customer's addresses on it
    consent: Mapping[str, str] = field(default_factory=dict)  # channel → subscribed | …
    suppressed: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # ch → addr → why
    recent: Sequence[Sent] = ()
    guide_id: int | None = None  # the owner guide with a WeCom userid, if any


@dataclass(frozen=True)
class Decision:
    channel: str | None
    send_at: datetime | None = None
    address: str | None = None
    reason: str | None = None  # models.LEFT_OUT_REASONS when channel is None
    guide_id: int | None = None

    @property
    def is_deferred(self) -> bool:
        return self.send_at is not None and self.reason is None and self.channel is not None


def decide(
    recipient: Recipient,
    *,
    channels: Sequence[str],
    purpose: str,
    at: datetime,
    policy: Policy,
    brand_zone: ZoneInfo | None = None,
) -> Decision:
    """The channel and send time for one recipient, or why they are left out."""
    check_channels(channels)
    brand = brand_zone or get_settings().zone
    furthest = 0
    for channel in channels:
        level, decision = _check(recipient, channel, purpose, at, policy, brand)
        if decision is not None:
            return decision
        if level > furthest:
            furthest = level
    return Decision(None, reason=REASONS[furthest], address=None, send_at=None, guide_id=None)


def _check(
    r: Recipient, channel: str, purpose: str, at: datetime, policy: Policy, brand: ZoneInfo
) -> tuple[int, Decision | None]:
    marketing = purpose == "marketing"
    has_guide = channel != "wecom" or r.guide_id is not None
    addresses = sorted(r.addresses.get(channel, ())) if has_guide else []
    if not addresses:
        return NO_CHANNEL, None
    binding = r.suppressed.get(channel, {})
    usable = [
        a
        for a in addresses
        if a not in binding or (not marketing and binding[a] not in UNREACHABLE)
    ]
    if not usable:
        return SUPPRESSED, None
    consent = r.consent.get(channel)
    if marketing and (consent != "subscribed" if channel in OPT_IN else consent == "unsubscribed"):
        return NO_CONSENT, None
    send_at = opening(at, r.zone, policy.window_for(channel)) if marketing else at
    if marketing and _over_caps(r, channel, send_at, policy):
        return CAPPED, None
    if _over_platform(r, channel, send_at, policy, brand):
        return PLATFORM_LIMIT, None
    guide = r.guide_id if channel == "wecom" else None
    return 0, Decision(channel, send_at=send_at, address=usable[0], guide_id=guide)


def _over_caps(r: Recipient, channel: str, send_at: datetime, policy: Policy) -> bool:
    for cap in policy.caps_for(channel):
        low, high = period_bounds(send_at, r.zone, cap.period)
        count = sum(
            1
            for s in r.recent
            if s.purpose == "marketing"
            and (cap.channel is None or s.channel == channel)
            and low <= s.send_at < high
        )
        if count >= cap.max_messages:
            return True
    return False


def _over_platform(
    r: Recipient, channel: str, send_at: datetime, policy: Policy, brand: ZoneInfo
) -> bool:
    for limit in policy.limits_for(channel):
        low, high = period_bounds(send_at, brand, limit.period)
        most = limit.max_messages or days_in_month(send_at, brand)
        if sum(1 for s in r.recent if s.channel == channel and low <= s.send_at < high) >= most:
            return True
    return False


def recipient(
    session: Session, customer_id: int, *, at: datetime, exclude_key_prefix: str | None = None
) -> Recipient | None:
    """One customer as `decide` needs them, read from the database (None: merged or unknown)."""
    customer = session.get(Customer, customer_id)
    if customer is None or customer.merged_into_id is not None:
        return None
    zone = zone_of((customer.traits or {}).get("timezone")) or get_settings().zone
    types = {
        kind: [c for c, t in ADDRESS_TYPES.items() if t == kind] for kind in ADDRESS_TYPES.values()
    }
    addresses: dict[str, list[str]] = {}
    for kind, value in session.execute(
        select(Identity.type, Identity.value).where(Identity.customer_id == customer_id)
    ):
        for channel in types.get(kind, ()):
            addresses.setdefault(channel, []).append(value)
    suppressed: dict[str, dict[str, str]] = {}
    values = [v for vs in addresses.values() for v in vs]
    for channel, address, reason in session.execute(
        select(Suppression.channel, Suppression.address, Suppression.reason).where(
            Suppression.address.in_(values)
        )
    ):
        suppressed.setdefault(channel, {})[address] = reason
    consent = dict(
        session.execute(
            select(Consent.channel, Consent.status).where(Consent.customer_id == customer_id)
        ).all()
    )
    recent_q = select(Delivery.channel, Delivery.send_at, Delivery.purpose).where(
        Delivery.customer_id == customer_id,
        Delivery.status.in_(COUNTED),
        Delivery.send_at >= at - timedelta(days=40),
    )
    if exclude_key_prefix:
        recent_q = recent_q.where(not_prefixed(Delivery.key, exclude_key_prefix))
    recent = [Sent(c, s, p) for c, s, p in session.execute(recent_q)]
    guide = session.scalar(
        select(Staff.id).where(
            Staff.id == customer.owner_id, Staff.wecom_userid.is_not(None), Staff.status == "active"
        )
    )
    return Recipient(customer_id, zone, addresses, consent, suppressed, recent, guide)


# ---- many recipients: set-based SQL ------------------------------------------------------------


@dataclass
class PlanCounts:
    """What a plan did or would do: recipients by status, left-out reasons, deferred sends."""

    total: int = 0
    planned: int = 0
    held_out: int = 0
    left_out: dict[str, int] = field(default_factory=dict)
    deferred: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)
    by_variant: dict[str, int] = field(default_factory=dict)
    inserted: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "planned": self.planned,
            "held_out": self.held_out,
            "left_out": dict(sorted(self.left_out.items())),
            "deferred": self.deferred,
            "by_channel": dict(sorted(self.by_channel.items())),
            "by_variant": dict(sorted(self.by_variant.items())),
            "inserted": self.inserted,
        }


def plan(
    session: Session,
    audience: Any,
    *,
    origin: str,
    origin_id: int | None,
    channels: Sequence[str],
    purpose: str = "marketing",
    at: datetime,
    holdout_percent: float = 0,
    variants: Sequence[tuple[str, int]] = (("A", 1),),
    key_prefix: str,
    step: str | None = None,
    content: Mapping[str, Any] | None = None,
    policy: Policy | None = None,
) -> PlanCounts:
    """Write one delivery per audience member (planned, held_out, or left_out with its reason),
    keyed `key_prefix + customer id`: planning again inserts nothing twice. Answers the counts
    of every delivery under the prefix."""
    sql = PlanStatement(
        session,
        audience,
        origin=origin,
        origin_id=origin_id,
        channels=channels,
        purpose=purpose,
        at=at,
        holdout_percent=holdout_percent,
        variants=variants,
        key_prefix=key_prefix,
        policy=policy or load_policy(session),
    )
    rows = sql.rows().subquery("planned")
    key = literal(key_prefix) + cast(rows.c.customer_id, String)
    existing = Delivery.__table__.alias("existing")
    now = utcnow()
    source = select(
        key.label("key"),
        literal(origin).label("origin"),
        literal(origin_id, Integer()).label("origin_id"),
        literal(step, String()).label("step"),
        rows.c.variant,
        rows.c.customer_id,
        rows.c.channel,
        literal(purpose).label("purpose"),
        rows.c.address,
        rows.c.guide_id,
        literal(dict(content or {}), JSON()).label("content"),
        rows.c.status,
        rows.c.reason,
        rows.c.send_at,
        literal(0).label("attempts"),
        literal(now, UTCDateTime()).label("created_at"),
    ).where(~exists().where(existing.c.key == key))
    names = [c.name for c in source.selected_columns]
    before = _stored_counts(session, origin, origin_id, key_prefix, at).total
    session.execute(insert(table_of(Delivery)).from_select(names, source))
    counts = _stored_counts(session, origin, origin_id, key_prefix, at)
    counts.inserted = counts.total - before
    return counts


def preview(
    session: Session,
    audience: Any,
    *,
    origin: str,
    origin_id: int | None,
    channels: Sequence[str],
    purpose: str = "marketing",
    at: datetime,
    holdout_percent: float = 0,
    variants: Sequence[tuple[str, int]] = (("A", 1),),
    key_prefix: str,
    policy: Policy | None = None,
) -> PlanCounts:
    """What plan would do at `at`, counted, writing nothing."""
    sql = PlanStatement(
        session,
        audience,
        origin=origin,
        origin_id=origin_id,
        channels=channels,
        purpose=purpose,
        at=at,
        holdout_percent=holdout_percent,
        variants=variants,
        key_prefix=key_prefix,
        policy=policy or load_policy(session),
    )
    rows = sql.rows().subquery("planned")
    return _tally(session, rows, at)


def _tally(session: Session, rows: Any, at: datetime) -> PlanCounts:
    deferred = case((rows.c.send_at > literal(at, UTCDateTime()), 1), else_=0)
    grouped = select(
        rows.c.status,
        rows.c.reason,
        rows.c.channel,
        rows.c.variant,
        deferred.label("deferred"),
        func.count(),
    ).group_by(
        rows.c.status, rows.c.reason, rows.c.channel, rows.c.variant, literal_column("deferred")
    )
    return _counts(session.execute(grouped).all())


def _counts(groups: Iterable[Any]) -> PlanCounts:
    counts = PlanCounts()
    for status, reason, channel, variant, deferred, n in groups:
        counts.total += n
        if status in ("left_out", "cancelled"):
            why = reason or status
            counts.left_out[why] = counts.left_out.get(why, 0) + n
            continue
        if status == "held_out":
            counts.held_out += n
        else:
            counts.planned += n
            counts.deferred += n if deferred else 0
            counts.by_channel[channel] = counts.by_channel.get(channel, 0) + n
        counts.by_variant[variant] = counts.by_variant.get(variant, 0) + n
    return counts


def _stored_counts(
    session: Session, origin: str, origin_id: int | None, key_prefix: str, at: datetime
) -> PlanCounts:
    d = table_of(Delivery)
    rows = (
        select(d.c.status, d.c.reason, d.c.channel, d.c.variant, d.c.send_at)
        .where(
            d.c.origin == origin,
            d.c.origin_id == origin_id if origin_id is not None else d.c.origin_id.is_(None),
            func.substr(d.c.key, 1, len(key_prefix)) == key_prefix,
        )
        .subquery("stored")
    )
    return _tally(session, rows, at)
