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

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    JSON,
    Integer,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    literal_column,
    not_,
    null,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Select

from siyu.core.db import UTCDateTime, table_of, utcnow
from siyu.core.errors import InvalidInput
from siyu.core.settings import get_settings
from siyu.customers.models import Customer, Identity
from siyu.messaging.models import CHANNELS, Consent, Delivery, Suppression
from siyu.messaging.policy import Policy, Window, load_policy
from siyu.staff.models import Staff

# The identity type that is a customer's address on each channel (customers.identity types).
ADDRESS_TYPES = {
    "wecom": "wecom_external_userid",
    "official_account": "wechat_openid",
    "sms": "phone",
    "email": "email",
    "call": "phone",
}
# Marketing on these needs a recorded `subscribed` consent; elsewhere it needs no withdrawal.
OPT_IN = frozenset({"sms", "email", "call"})
# Suppressions that bind transactional messages too: the address cannot receive at all.
UNREACHABLE = ("bounced", "do_not_call", "unfollowed")
# Deliveries that are or will be a message (caps and platform limits count them).
COUNTED = ("planned", "sending", "pending", "sent", "delivered")
# How far each check got, in order; a left-out recipient takes the furthest one's reason.
NO_CHANNEL, SUPPRESSED, NO_CONSENT, CAPPED, PLATFORM_LIMIT = 1, 2, 3, 4, 5
REASONS = {
    NO_CHANNEL: "no_channel",
    SUPPRESSED: "suppressed",
    NO_CONSENT: "no_consent",
    CAPPED: "capped",
    PLATFORM_LIMIT: "platform_limit",
}
BUCKETS = 10_000  # holdout and variant shares are drawn in hundredths of a percent
_P = 2_147_483_647  # a prime below 2^31: every step of the arm hash stays inside BIGINT


# ---- time: the recipient's calendar, DST-correct --------------------------------------------


def zone_of(name: object) -> ZoneInfo | None:
    """An IANA zone from a trait value, or None when it names none."""
    if not isinstance(name, str) or not name or len(name) > 64:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def first_instant(naive: datetime, zone: ZoneInfo) -> datetime:
    """The earliest instant whose wall time in `zone` is `naive` or, when the clock skips it
    (a spring-forward gap), the moment the clock jumps past it."""
    return instants(naive, zone)[0]


def instants(naive: datetime, zone: ZoneInfo) -> list[datetime]:
    """Every instant whose wall time is `naive` (two in a fall-back fold), or the gap's end."""
    found = []
    for fold in (0, 1):
        moment = naive.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if moment.astimezone(zone).replace(tzinfo=None) == naive and moment not in found:
            found.append(moment)
    if found:
        return sorted(found)
    low = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)  # before the jump
    high = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)  # after it
    while high - low > timedelta(seconds=1):  # the offset changes once between them
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == low.astimezone(zone).utcoffset():
            low = middle
        else:
            high = middle
    return [high.replace(microsecond=0)]


def opening(at: datetime, zone: ZoneInfo, window: Window | None) -> datetime:
    """`at` itself outside quiet hours; otherwise the first instant the window opens after it,
    in the recipient's wall time."""
    local = at.astimezone(zone)
    if window is None or not window.is_quiet(local.time().replace(tzinfo=None)):
        return at
    day = local.date()
    if window.start > window.end and local.time() >= window.start:
        day += timedelta(days=1)
    for moment in instants(datetime.combine(day, window.end), zone):
        if moment >= at:
            return moment
    return first_instant(datetime.combine(day + timedelta(days=1), window.end), zone)


def period_start(day: date, period: str) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def period_bounds(moment: datetime, zone: ZoneInfo, period: str) -> tuple[datetime, datetime]:
    """The recipient's calendar day, week (from Monday) or month holding `moment`, in UTC."""
    start = period_start(moment.astimezone(zone).date(), period)
    if period == "day":
        end = start + timedelta(days=1)
    elif period == "week":
        end = start + timedelta(days=7)
    else:
        end = (start + timedelta(days=32)).replace(day=1)
    return (
        first_instant(datetime.combine(start, datetime.min.time()), zone),
        first_instant(datetime.combine(end, datetime.min.time()), zone),
    )


def days_in_month(moment: datetime, zone: ZoneInfo) -> int:
    start = moment.astimezone(zone).date().replace(day=1)
    return ((start + timedelta(days=32)).replace(day=1) - start).days


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


def check_channels(channels: Sequence[str]) -> None:
    if not channels:
        raise InvalidInput("name at least one channel", field="channels")
    for channel in channels:
        if channel not in CHANNELS:
            raise InvalidInput(f"unknown channel {channel!r}", field="channels")
    if len(set(channels)) != len(channels):
        raise InvalidInput("a channel appears twice in the fallback order", field="channels")


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
        recent_q = recent_q.where(_not_prefixed(Delivery.key, exclude_key_prefix))
    recent = [Sent(c, s, p) for c, s, p in session.execute(recent_q)]
    guide = session.scalar(
        select(Staff.id).where(
            Staff.id == customer.owner_id, Staff.wecom_userid.is_not(None), Staff.status == "active"
        )
    )
    return Recipient(customer_id, zone, addresses, consent, suppressed, recent, guide)


# ---- arms: holdout and variants ----------------------------------------------------------------


def arm_seed(origin: str, origin_id: int | None) -> int:
    digest = hashlib.sha256(f"{origin}:{origin_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % _P


def arm_bucket(origin: str, origin_id: int | None, customer_id: int) -> int:
    """0..9999, the same as plan's SQL computes: a re-plan assigns the same arms."""
    seed = arm_seed(origin, origin_id)
    mixed = ((customer_id + seed) % _P * 48271 + 11) % _P * 69621 % _P
    return (mixed * mixed + seed) % _P % BUCKETS


def _bucket_sql(customer_id: ColumnElement[Any], seed: int) -> tuple[ColumnElement[Any], Any]:
    """The SQL of arm_bucket in two steps (the second squares the first, so it needs a column)."""
    mixed = ((customer_id + seed) % _P * 48271 + 11) % _P * 69621 % _P
    return mixed, lambda m: (m * m + seed) % _P % BUCKETS


def arm_cuts(holdout_percent: float, variants: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    """Bucket thresholds: ("holdout", h), then each variant's upper bound, the last at 10,000."""
    if not 0 <= holdout_percent < 100:
        raise InvalidInput(
            "holdout must be 0 or more and under 100 percent", field="holdout_percent"
        )
    if not variants or any(w <= 0 for _, w in variants):
        raise InvalidInput("each variant needs a weight above 0", field="variants")
    if len({k for k, _ in variants}) != len(variants) or "holdout" in {k for k, _ in variants}:
        raise InvalidInput("variant keys must be distinct (and not 'holdout')", field="variants")
    held = round(holdout_percent * BUCKETS / 100)
    total, running, cuts = sum(w for _, w in variants), 0, [("holdout", held)]
    for key, weight in variants:
        running += weight
        cuts.append((key, held + round((BUCKETS - held) * running / total)))
    return cuts


def arm_of(bucket: int, cuts: Sequence[tuple[str, int]]) -> str:
    for key, upper in cuts:
        if bucket < upper:
            return key
    return cuts[-1][0]


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


def _not_prefixed(key: Any, prefix: str) -> ColumnElement[bool]:
    return func.substr(key, 1, len(prefix)) != prefix


def _audience_ids(audience: Any) -> Select[Any]:
    """A select of the audience's customer ids, whatever form it came in."""
    if isinstance(audience, Select):
        return audience
    return select(audience.c[0] if hasattr(audience, "c") else audience)


def _zone_rows(session: Session, ids: Select[Any]) -> tuple[dict[str, ZoneInfo], ZoneInfo]:
    tz = Customer.traits["timezone"].as_string()
    raw = session.scalars(
        select(tz).where(Customer.id.in_(ids), Customer.merged_into_id.is_(None)).distinct()
    ).all()
    zones = {name: zone for name in raw if (zone := zone_of(name)) is not None}
    return zones, get_settings().zone


class _Sql:
    """Builds plan's statement: one row per audience member with its status, reason, channel,
    address, guide, send time and arm."""

    def __init__(
        self,
        session: Session,
        audience: Any,
        *,
        origin: str,
        origin_id: int | None,
        channels: Sequence[str],
        purpose: str,
        at: datetime,
        holdout_percent: float,
        variants: Sequence[tuple[str, int]],
        key_prefix: str,
        policy: Policy,
    ) -> None:
        check_channels(channels)
        if purpose not in ("marketing", "transactional"):
            raise InvalidInput("purpose is marketing or transactional", field="purpose")
        if at.tzinfo is None:
            raise InvalidInput("the planning time needs a zone", field="at")
        self.channels, self.purpose, self.at, self.policy = list(channels), purpose, at, policy
        self.key_prefix, self.cuts = key_prefix, arm_cuts(holdout_percent, variants)
        self.seed = arm_seed(origin, origin_id)
        self.ids = _audience_ids(audience)
        self.zones, self.brand = _zone_rows(session, self.ids)
        self.limits = self._limits()

    @property
    def marketing(self) -> bool:
        return self.purpose == "marketing"

    def _limits(self) -> list[tuple[int, str | None, bool, str]]:
        """(channel index, channel counted or None for all, marketing only, level) per limit;
        each has its bounds (and a count) per zone in the zones table."""
        out: list[tuple[int, str | None, bool, str]] = []
        for k, channel in enumerate(self.channels):
            if self.marketing:
                for cap in self.policy.caps_for(channel):
                    out.append((k, channel if cap.channel else None, True, "cap"))
            for _ in self.policy.limits_for(channel):
                out.append((k, channel, False, "platform"))
        return out

    def _zone_values(self, zone: ZoneInfo) -> list[Any]:
        values: list[Any] = []
        send_at = []
        for channel in self.channels:
            window = self.policy.window_for(channel) if self.marketing else None
            send_at.append(opening(self.at, zone, window))
        values.extend(send_at)
        for k, channel in enumerate(self.channels):
            if self.marketing:
                for cap in self.policy.caps_for(channel):
                    values.extend([*period_bounds(send_at[k], zone, cap.period), cap.max_messages])
            for limit in self.policy.limits_for(channel):
                most = limit.max_messages or days_in_month(send_at[k], self.brand)
                values.extend([*period_bounds(send_at[k], self.brand, limit.period), most])
        return values

    def zones_table(self) -> Any:
        names = [f"send_at_{k}" for k in range(len(self.channels))]
        for i in range(len(self.limits)):
            names += [f"lo_{i}", f"hi_{i}", f"max_{i}"]
        rows = [("", self._zone_values(self.brand))]
        rows += [(name, self._zone_values(zone)) for name, zone in self.zones.items()]
        selects = []
        for key, values in rows:
            columns: list[Any] = [cast(literal(key), String).label("zkey")]
            for name, value in zip(names, values, strict=True):
                if name.startswith("max_"):
                    columns.append(cast(literal(value), Integer).label(name))
                else:  # no CAST: SQLite would read the timestamp's text as a number
                    columns.append(
                        type_coerce(literal(value, UTCDateTime()), UTCDateTime()).label(name)
                    )
            selects.append(select(*columns))
        return (union_all(*selects) if len(selects) > 1 else selects[0]).subquery("zones")

    def reach(self) -> Any:
        """Layer 1: each customer's zone key, guide and usable address per channel."""
        c = Customer.__table__
        tz = Customer.traits["timezone"].as_string()
        zkey = case((tz.in_(list(self.zones)), tz), else_="") if self.zones else literal("")
        guide = (
            select(Staff.id)
            .where(
                Staff.id == c.c.owner_id, Staff.wecom_userid.is_not(None), Staff.status == "active"
            )
            .scalar_subquery()
        )
        columns: list[Any] = [
            c.c.id.label("customer_id"),
            zkey.label("zkey"),
            guide.label("guide_id"),
        ]
        for k, channel in enumerate(self.channels):
            columns.append(self._address(c.c.id, channel).label(f"addr_{k}"))
            columns.append(
                select(Consent.status)
                .where(Consent.customer_id == c.c.id, Consent.channel == channel)
                .scalar_subquery()
                .label(f"consent_{k}")
            )
        query = select(*columns).where(c.c.id.in_(self.ids), c.c.merged_into_id.is_(None))
        return query.cte("reach").prefix_with("MATERIALIZED")

    def _address(self, customer_id: Any, channel: str) -> Any:
        binding = [Suppression.channel == channel, Suppression.address == Identity.value]
        if not self.marketing:
            binding.append(Suppression.reason.in_(UNREACHABLE))
        return (
            select(func.min(Identity.value))
            .where(
                Identity.customer_id == customer_id,
                Identity.type == ADDRESS_TYPES[channel],
                not_(exists().where(*binding)),
            )
            .scalar_subquery()
        )

    def _level(self, reach: Any, zones: Any, k: int) -> Any:
        """How far channel k's checks get: 0 passes, else the failing check's level."""
        channel = self.channels[k]
        address = reach.c[f"addr_{k}"]
        has_any = exists().where(
            Identity.customer_id == reach.c.customer_id, Identity.type == ADDRESS_TYPES[channel]
        )
        whens: list[tuple[Any, int]] = []
        if channel == "wecom":
            whens.append((reach.c.guide_id.is_(None), NO_CHANNEL))
        whens += [
            (and_(address.is_(None), not_(has_any)), NO_CHANNEL),
            (address.is_(None), SUPPRESSED),
        ]
        consent = reach.c[f"consent_{k}"]
        if self.marketing:
            refused = (
                or_(consent.is_(None), consent != "subscribed")
                if channel in OPT_IN
                else and_(consent.is_not(None), consent == "unsubscribed")
            )
            whens.append((refused, NO_CONSENT))
        for i, (lk, counted, marketing_only, kind) in enumerate(self.limits):
            if lk == k:
                whens.append(
                    (
                        self._count(reach, zones, i, counted, marketing_only)
                        >= zones.c[f"max_{i}"],
                        CAPPED if kind == "cap" else PLATFORM_LIMIT,
                    )
                )
        return case(*whens, else_=0)

    def _count(
        self, reach: Any, zones: Any, i: int, counted: str | None, marketing_only: bool
    ) -> Any:
        d = Delivery.__table__.alias("d")
        where = [
            d.c.customer_id == reach.c.customer_id,
            d.c.status.in_(COUNTED),
            d.c.send_at >= zones.c[f"lo_{i}"],
            d.c.send_at < zones.c[f"hi_{i}"],
            _not_prefixed(d.c.key, self.key_prefix),
        ]
        if marketing_only:
            where.append(d.c.purpose == "marketing")
        if counted is not None:
            where.append(d.c.channel == counted)
        return select(func.count()).select_from(d).where(*where).scalar_subquery()

    def rows(self) -> Select[Any]:
        """One row per recipient: customer_id, status, reason, channel, address, guide_id,
        send_at, variant."""
        reach, zones = self.reach(), self.zones_table()
        n = len(self.channels)
        levels = [self._level(reach, zones, k).label(f"level_{k}") for k in range(n)]
        mixed, finish = _bucket_sql(reach.c.customer_id, self.seed)
        checked = (
            select(
                reach, *[zones.c[f"send_at_{k}"] for k in range(n)], *levels, mixed.label("mixed")
            )
            .join_from(reach, zones, zones.c.zkey == reach.c.zkey)
            .cte("checked")
            .prefix_with("MATERIALIZED")
        )
        lv = [checked.c[f"level_{k}"] for k in range(n)]
        # The first channel that passes; else the furthest check any channel reached.
        furthest = case(
            *[(or_(*[v == level for v in lv]), level) for level in sorted(REASONS, reverse=True)],
            else_=NO_CHANNEL,
        )
        decided = select(
            checked,
            case(*[(lv[k] == 0, k) for k in range(n)], else_=None).label("chosen"),
            furthest.label("furthest"),
            finish(checked.c.mixed).label("bucket"),
        ).subquery("decided")
        return self._final(decided)

    def _final(self, t: Any) -> Select[Any]:
        n, chosen = len(self.channels), t.c.chosen
        lv = [t.c[f"level_{k}"] for k in range(n)]

        def pick(column: str) -> Any:
            return case(*[(chosen == k, t.c[f"{column}_{k}"]) for k in range(n)], else_=None)

        channel = case(
            *[(chosen == k, literal(self.channels[k])) for k in range(n)],
            *[(lv[k] == t.c.furthest, literal(self.channels[k])) for k in range(n)],
            else_=literal(self.channels[0]),
        )
        held = self.cuts[0][1]
        arm = case(
            *[(t.c.bucket < upper, literal(key)) for key, upper in self.cuts[1:]],
            else_=literal(self.cuts[-1][0]),
        )
        left = chosen.is_(None)
        return select(
            t.c.customer_id,
            case(
                (left, literal("left_out")),
                (t.c.bucket < held, literal("held_out")),
                else_=literal("planned"),
            ).label("status"),
            case(
                *[(and_(left, t.c.furthest == lvl), literal(r)) for lvl, r in REASONS.items()],
                else_=null(),
            ).label("reason"),
            channel.label("channel"),
            pick("addr").label("address"),
            case((and_(chosen.is_not(None), channel == "wecom"), t.c.guide_id), else_=null()).label(
                "guide_id"
            ),
            func.coalesce(pick("send_at"), literal(self.at, UTCDateTime())).label("send_at"),
            case((left, null()), (t.c.bucket < held, literal("holdout")), else_=arm).label(
                "variant"
            ),
        )


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
    sql = _Sql(
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
    sql = _Sql(
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
