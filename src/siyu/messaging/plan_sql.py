"""The one statement `planner.plan` and `planner.preview` run: a row per audience member with its
status, reason, channel, address, guide, send time and arm, in SQLAlchemy Core that SQLite and
PostgreSQL both run. The zone-dependent values (each channel's send time after quiet hours, each
cap's calendar bounds) are computed in Python once per time zone present in the audience and
joined as a small table, so the database does no time-zone arithmetic."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Integer,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Select

from siyu.core.db import UTCDateTime
from siyu.core.errors import InvalidInput
from siyu.core.settings import get_settings
from siyu.customers.models import Customer, Identity
from siyu.messaging.arms import arm_cuts, arm_seed, bucket_sql
from siyu.messaging.clock import days_in_month, opening, period_bounds, zone_of
from siyu.messaging.models import CHANNELS, Consent, Delivery, Suppression
from siyu.messaging.policy import Policy
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


def check_channels(channels: Sequence[str]) -> None:
    if not channels:
        raise InvalidInput("name at least one channel", field="channels")
    for channel in channels:
        if channel not in CHANNELS:
            raise InvalidInput(f"unknown channel {channel!r}", field="channels")
    if len(set(channels)) != len(channels):
        raise InvalidInput("a channel appears twice in the fallback order", field="channels")


def not_prefixed(key: Any, prefix: str) -> ColumnElement[bool]:
    return func.substr(key, 1, len(prefix)) != prefix


def _audience_ids(audience: Any) -> Select[Any]:
    """A select of the audience's customer ids, whatever form it came in."""
    if isinstance(audience, Select):
        return audience
    return select(audience.c[0] if hasattr(audience, "c") else audience)


def _zone_rows(session: Session, ids: Select[Any]) -> tuple[dict[str, ZoneInfo], ZoneInfo]:
    tz = Customer.traits["timezone"].as_string()
    # Merged customers are left in: a zone too many costs a row of a small table, the filter a
    # second look at every customer.
    raw = session.scalars(select(tz).where(Customer.id.in_(ids)).distinct()).all()
    zones = {name: zone for name in raw if (zone := zone_of(name)) is not None}
    return zones, get_settings().zone


class PlanStatement:
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
        self.replanning = bool(
            session.scalar(
                select(
                    exists().where(
                        Delivery.origin == origin,
                        Delivery.origin_id == origin_id
                        if origin_id is not None
                        else Delivery.origin_id.is_(None),
                        func.substr(Delivery.key, 1, len(key_prefix)) == key_prefix,
                    )
                )
            )
        )
        self.greatest = func.max if session.get_bind().dialect.name == "sqlite" else func.greatest
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
        """Layer 1: each customer's zone key, guide, and per channel the usable address,
        whether they have any address there, and their consent."""
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
        found = self._addresses()
        columns: list[Any] = [
            c.c.id.label("customer_id"),
            zkey.label("zkey"),
            guide.label("guide_id"),
        ]
        for k, channel in enumerate(self.channels):
            columns.append(found.c[f"addr_{k}"])
            columns.append(func.coalesce(found.c[f"has_{k}"], 0).label(f"has_{k}"))
            columns.append(
                select(Consent.status)
                .where(Consent.customer_id == c.c.id, Consent.channel == channel)
                .scalar_subquery()
                .label(f"consent_{k}")
            )
        query = (
            select(*columns)
            .select_from(c.outerjoin(found, found.c.customer_id == c.c.id))
            .where(c.c.id.in_(self.ids), c.c.merged_into_id.is_(None))
        )
        return query.cte("reach").prefix_with("MATERIALIZED")

    def _addresses(self) -> Any:
        """The audience's identities read once, pivoted to one row per customer: per channel
        the first address not suppressed there, and whether there is any (a probe per customer
        and channel took twice as long at a million)."""
        columns: list[Any] = [Identity.customer_id]
        for k, channel in enumerate(self.channels):
            binding = [Suppression.channel == channel, Suppression.address == Identity.value]
            if not self.marketing:
                binding.append(Suppression.reason.in_(UNREACHABLE))
            is_kind = Identity.type == ADDRESS_TYPES[channel]
            usable = and_(is_kind, not_(exists(select(literal(1)).where(*binding))))
            columns.append(func.min(case((usable, Identity.value))).label(f"addr_{k}"))
            columns.append(func.max(case((is_kind, 1), else_=0)).label(f"has_{k}"))
        kinds = sorted({ADDRESS_TYPES[ch] for ch in self.channels})
        return (
            select(*columns)
            .where(Identity.customer_id.in_(self.ids), Identity.type.in_(kinds))
            .group_by(Identity.customer_id)
            .subquery("addresses")
        )

    def _level(self, reach: Any, zones: Any, k: int) -> Any:
        """How far channel k's checks get: 0 passes, else the failing check's level."""
        channel = self.channels[k]
        address = reach.c[f"addr_{k}"]
        has_any = reach.c[f"has_{k}"] == 1
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
        ]
        if self.replanning:  # this plan's own rows do not count against it
            where.append(not_prefixed(d.c.key, self.key_prefix))
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
        mixed, finish = bucket_sql(reach.c.customer_id, self.seed)
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
        furthest = self.greatest(*lv) if n > 1 else lv[0]
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
