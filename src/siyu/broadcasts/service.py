"""Broadcasts (群发): a message to a segment, a tag filter or an uploaded list, on one channel or a
fallback order, with A/B variants and a holdout, scheduled or now.

What a broadcast does is decided by messaging's planner (who may be reached, on which channel,
when) and carried out by its dispatcher (the delivery log, the senders): a broadcast holds only
its audience, its variants' contents and its status. Sending plans every customer of the
audience once (deliveries keyed `broadcast:<id>:<customer>`), so sending again, a retried job
or a crash in the middle plans no one twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import Select, func, insert, select, update
from sqlalchemy.orm import Session

from siyu.broadcasts.models import (
    AUDIENCE_KINDS,
    MAX_HOLDOUT_PERCENT,
    MAX_VARIANTS,
    Broadcast,
    BroadcastListMember,
    BroadcastVariant,
)
from siyu.core import jobs
from siyu.core.db import rowcount, utcnow
from siyu.core.errors import Conflict, InvalidInput, NotFound, SiyuError
from siyu.core.i18n import N_
from siyu.customers import service as customers
from siyu.messaging import planner
from siyu.messaging import service as messaging
from siyu.messaging.models import CHANNELS, PURPOSES, Delivery, MessageContent
from siyu.promotions import service as promotions
from siyu.segments import service as segments
from siyu.segments.models import SegmentMember
from siyu.tags.models import CustomerTag, Tag

ORIGIN = "broadcast"
PLANNED_EVENT = "Message Planned"
PLANNED_CHUNK = 5_000
SEND_KIND = "broadcasts.send"
FINISH_KIND = "broadcasts.finish"
# A delivery in one of these may still become a message; every other status is final.
WAITING = ("planned", "sending", "pending")
MAX_NAME = 200
_SYNTAX = SandboxedEnvironment()


@dataclass
class VariantSpec:
    """A variant as it is given: its key, weight and text (one text for every channel, or a
    channel's own in `by_channel`), with a channel's extras (an SMS template code and params,
    WeCom attachments, an official-account template)."""

    key: str = "A"
    weight: int = 1
    subject: str | None = None
    text: str = ""
    html: str | None = None
    by_channel: dict[str, dict[str, Any]] = field(default_factory=dict)


def create(
    session: Session,
    *,
    name: str,
    actor: str,
    channels: Sequence[str],
    variants: Sequence[VariantSpec],
    segment_key: str | None = None,
    tag_filter: dict[str, list[str]] | None = None,
    customer_ids: Iterable[int] | None = None,
    purpose: str = "marketing",
    holdout_percent: int = 0,
    scheduled_at: datetime | None = None,
    window_days: int = 7,
    coupon_template: str | None = None,
) -> Broadcast:
    """A draft broadcast; every field is checked and a bad one is named."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(N_("a broadcast needs a name of at most 200 characters"), field="name")
    audience = _audience_kind(segment_key, tag_filter, customer_ids)
    if segment_key is not None:
        segments.find_segment(session, segment_key)  # NotFound names it
    if tag_filter is not None:
        tag_filter = _check_tags(session, tag_filter)
    channels = _check_channels(channels)
    if purpose not in PURPOSES:
        raise InvalidInput(N_("purpose must be marketing or transactional"), field="purpose")
    if not 0 <= holdout_percent <= MAX_HOLDOUT_PERCENT:
        raise InvalidInput(N_("the holdout must be 0-50 percent"), field="holdout")
    if not 1 <= window_days <= 90:
        raise InvalidInput(N_("the results window must be 1-90 days"), field="window_days")
    _check_variants(variants, channels)
    _check_coupon(session, coupon_template)
    broadcast = Broadcast(
        name=name,
        status="draft",
        audience=audience,
        segment_key=segment_key,
        tag_filter=tag_filter or {},
        channels=list(channels),
        purpose=purpose,
        holdout_percent=holdout_percent,
        window_days=window_days,
        scheduled_at=scheduled_at,
        coupon_template=coupon_template,
        created_by=actor,
    )
    session.add(broadcast)
    session.flush()
    for spec in variants:
        contents = {}
        for channel in channels:
            own = spec.by_channel.get(channel, {})
            content = MessageContent(
                channel=channel,
                subject=own.get("subject", spec.subject),
                text=own.get("text", spec.text),
                html=own.get("html", spec.html),
                extras=own.get("extras", {}),
            )
            session.add(content)
            session.flush()
            contents[channel] = content.id
        session.add(
            BroadcastVariant(
                broadcast_id=broadcast.id, key=spec.key, weight=spec.weight, contents=contents
            )
        )
    if customer_ids is not None:
        _add_list(session, broadcast, customer_ids)
    session.flush()
    return broadcast


def _audience_kind(
    segment_key: str | None, tag_filter: dict | None, customer_ids: Iterable[int] | None
) -> str:
    given = [
        k
        for k, v in zip(AUDIENCE_KINDS, (segment_key, tag_filter, customer_ids), strict=True)
        if v is not None
    ]
    if len(given) != 1:
        raise InvalidInput(
            N_("choose one audience: a segment, a tag filter or a list"), field="audience"
        )
    return given[0]


def _check_channels(channels: Sequence[str]) -> list[str]:
    chosen = [c.strip() for c in channels if c.strip()]
    if not chosen:
        raise InvalidInput(N_("choose at least one channel"), field="channel")
    unknown = [c for c in chosen if c not in CHANNELS]
    if unknown:
        raise InvalidInput(
            N_("unknown channel %(name)s: use wecom, official_account, sms, email or call"),
            field="channel",
            params={"name": unknown[0]},
        )
    if len(set(chosen)) != len(chosen):
        raise InvalidInput(N_("a channel is named twice"), field="channel")
    return chosen


def _check_tags(session: Session, tag_filter: dict[str, list[str]]) -> dict[str, list[str]]:
    clean: dict[str, list[str]] = {}
    for how in ("any", "all", "none"):
        names = [n.strip() for n in tag_filter.get(how, []) if n and n.strip()]
        if names:
            clean[how] = names
    extra = set(tag_filter) - {"any", "all", "none"}
    if extra:
        raise InvalidInput(N_("a tag filter has any, all and none"), field="tags")
    if not clean.get("any") and not clean.get("all"):
        raise InvalidInput(N_("name at least one tag the customers have"), field="tags")
    named = {n for names in clean.values() for n in names}
    found = set(session.scalars(select(Tag.name).where(Tag.name.in_(named))))
    missing = sorted(named - found)
    if missing:
        raise InvalidInput(
            N_("no tag is named %(name)s"), field="tags", params={"name": missing[0]}
        )
    return clean


def _check_variants(variants: Sequence[VariantSpec], channels: Sequence[str]) -> None:
    if not 1 <= len(variants) <= MAX_VARIANTS:
        raise InvalidInput(N_("a broadcast has 1-5 variants"), field="variants")
    keys = [v.key for v in variants]
    if len(set(keys)) != len(keys) or not all(k and len(k) <= 16 for k in keys):
        raise InvalidInput(N_("each variant needs its own short key"), field="variants")
    for index, spec in enumerate(variants):
        where = f"variants.{index}"
        if not 1 <= spec.weight <= 100:
            raise InvalidInput(N_("a variant's weight is 1-100"), field=f"{where}.weight")
        for channel in channels:
            own = spec.by_channel.get(channel, {})
            text = own.get("text", spec.text)
            if not (text or "").strip() and not own.get("extras"):
                raise InvalidInput(N_("the message has no text"), field=f"{where}.text")
            for part in ("subject", "text", "html"):
                _check_syntax(own.get(part, getattr(spec, part)), f"{where}.{part}")


def _check_coupon(session: Session, key: str | None) -> None:
    """The coupon the broadcast hands out: a template that exists and issues now."""
    if key is None:
        return
    try:
        template = promotions.find_template(session, key)
    except NotFound:
        raise InvalidInput(
            N_("no coupon template has the key %(key)s"), field="coupon", params={"key": key}
        ) from None
    if template.status != "active":
        raise InvalidInput(N_("this coupon template is paused or ended"), field="coupon")


def _check_syntax(template: str | None, where: str) -> None:
    """A template that cannot be parsed is refused when the broadcast is written; a variable a
    customer lacks is found by the preview (messaging.templates)."""
    if not template:
        return
    try:
        _SYNTAX.parse(template)
    except TemplateSyntaxError as error:
        raise InvalidInput(
            N_("the template cannot be read (line %(line)s): %(reason)s"),
            field=where,
            params={"line": error.lineno, "reason": error.message},
        ) from None


def ids_from_refs(session: Session, refs: Iterable[str]) -> tuple[list[int], list[str]]:
    """An uploaded list's customers (ids, phones or other identity values, as bulk tagging
    reads a list) and the references that named no one."""
    refs = [r for r in refs if r.strip()]
    found = customers.customers_by_ref(session, refs)
    return sorted(set(found.values())), [r for r in refs if r not in found]


def _add_list(session: Session, broadcast: Broadcast, customer_ids: Iterable[int]) -> None:
    wanted = sorted(set(customer_ids))
    if not wanted:
        raise InvalidInput(N_("the list names no customer"), field="list")
    for start in range(0, len(wanted), 1000):
        session.execute(
            insert(BroadcastListMember),
            [
                {"broadcast_id": broadcast.id, "customer_id": c}
                for c in wanted[start : start + 1000]
            ],
        )


def audience(session: Session, broadcast: Broadcast) -> Select[int]:
    """The audience's customer ids as one SQL query (the planner reads it set-based)."""
    if broadcast.audience == "segment":
        segment = segments.find_segment(session, broadcast.segment_key or "")
        if segment.refreshed_at is None:
            raise InvalidInput(
                N_("refresh the segment first: it has no members yet"), field="segment"
            )
        return select(SegmentMember.customer_id).where(
            SegmentMember.segment_id == segment.id, SegmentMember.exited_at.is_(None)
        )
    if broadcast.audience == "list":
        return select(BroadcastListMember.customer_id).where(
            BroadcastListMember.broadcast_id == broadcast.id
        )
    return _tagged(session, broadcast.tag_filter)


def _tagged(session: Session, tag_filter: dict[str, list[str]]) -> Select[int]:
    ids = dict(session.execute(select(Tag.name, Tag.id)).all())

    def holding(names: list[str]) -> Select[int]:
        return select(CustomerTag.customer_id).where(
            CustomerTag.tag_id.in_([ids[n] for n in names if n in ids])
        )

    query: Select[int]
    if tag_filter.get("all"):
        wanted = tag_filter["all"]
        query = (
            holding(wanted)
            .group_by(CustomerTag.customer_id)
            .having(func.count(func.distinct(CustomerTag.tag_id)) == len(set(wanted)))
        )
        if tag_filter.get("any"):
            query = query.where(CustomerTag.customer_id.in_(holding(tag_filter["any"])))
    else:
        query = holding(tag_filter["any"]).distinct()
    if tag_filter.get("none"):
        query = query.where(CustomerTag.customer_id.not_in(holding(tag_filter["none"])))
    return query


def find(session: Session, broadcast_id: int) -> Broadcast:
    broadcast = session.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise NotFound(N_("no broadcast %(id)s"), field="id", params={"id": broadcast_id})
    return broadcast


def variants_of(session: Session, broadcast: Broadcast) -> list[BroadcastVariant]:
    return list(
        session.scalars(
            select(BroadcastVariant)
            .where(BroadcastVariant.broadcast_id == broadcast.id)
            .order_by(BroadcastVariant.key)
        )
    )


def list_broadcasts(session: Session, limit: int = 200) -> list[Broadcast]:
    return list(session.scalars(select(Broadcast).order_by(Broadcast.id.desc()).limit(limit)))


# Why a broadcast cannot be sent or cancelled, one message per status (a status word inside a
# translated sentence would stay English).
_NOT_AGAIN = {
    "sending": N_("this broadcast is being sent: it cannot be sent again"),
    "sent": N_("this broadcast was sent: it cannot be sent again"),
    "cancelled": N_("this broadcast was cancelled: it cannot be sent again"),
}
_NOT_CANCELLED = {
    "sent": N_("this broadcast was sent: it cannot be cancelled"),
    "cancelled": N_("this broadcast was cancelled already"),
}


def schedule(
    session: Session, broadcast: Broadcast, at: datetime | None, now: datetime | None = None
) -> Broadcast:
    """Send at `at` (None or past: now). The send is a job keyed by the broadcast, so asking
    twice books it once."""
    now = now or utcnow()
    if broadcast.status not in ("draft", "scheduled"):
        raise Conflict(_NOT_AGAIN.get(broadcast.status, _NOT_AGAIN["sending"]), field="status")
    run_at = at if at is not None and at > now else now
    broadcast.scheduled_at = run_at
    broadcast.status = "scheduled"
    jobs.enqueue(session, SEND_KIND, f"{SEND_KIND}:{broadcast.id}", {"id": broadcast.id}, run_at)
    return broadcast


def cancel(session: Session, broadcast: Broadcast) -> int:
    """Stop a broadcast: what is not yet handed to a provider is cancelled (their count)."""
    if broadcast.status in ("sent", "cancelled"):
        raise Conflict(_NOT_CANCELLED[broadcast.status], field="status")
    broadcast.status = "cancelled"
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.origin == ORIGIN,
            Delivery.origin_id == broadcast.id,
            Delivery.status == "planned",
        )
        .values(status="cancelled", reason="cancelled")
    )
    return rowcount(result)


def counts(session: Session, broadcast: Broadcast) -> dict[str, Any]:
    """Deliveries by status, and those left out by reason: one query over the delivery log."""
    rows = session.execute(
        select(Delivery.status, Delivery.reason, func.count())
        .where(Delivery.origin == ORIGIN, Delivery.origin_id == broadcast.id)
        .group_by(Delivery.status, Delivery.reason)
    ).all()
    by_status: dict[str, int] = {}
    left_out: dict[str, int] = {}
    for status, reason, count in rows:
        by_status[status] = by_status.get(status, 0) + count
        if status == "left_out":
            left_out[reason or "unknown"] = left_out.get(reason or "unknown", 0) + count
    handed = ("sending", "pending", "sent", "delivered", "failed")
    return {
        "planned": sum(by_status.get(s, 0) for s in ("planned", *handed)),
        "waiting": by_status.get("planned", 0),
        "sent": sum(by_status.get(s, 0) for s in ("sent", "delivered")),
        "pending": by_status.get("pending", 0) + by_status.get("sending", 0),
        "delivered": by_status.get("delivered", 0),
        "failed": by_status.get("failed", 0),
        "held_out": by_status.get("held_out", 0),
        "cancelled": by_status.get("cancelled", 0),
        "left_out": left_out,
        "coupons": (
            promotions.handed_out(session, ORIGIN, str(broadcast.id))
            if broadcast.coupon_template
            else None
        ),
    }


def _plan_args(session: Session, broadcast: Broadcast, at: datetime) -> dict[str, Any]:
    variants = variants_of(session, broadcast)
    return {
        "origin": ORIGIN,
        "origin_id": broadcast.id,
        "channels": list(broadcast.channels),
        "purpose": broadcast.purpose,
        "at": at,
        "holdout_percent": broadcast.holdout_percent,
        "variants": [(v.key, v.weight) for v in variants],
        "key_prefix": f"{ORIGIN}:{broadcast.id}:",
    }


def preview(session: Session, broadcast: Broadcast, at: datetime | None = None) -> dict[str, Any]:
    """How many would get it if it were sent at `at` (now by default), and how many are left
    out and why; nothing is written."""
    at = at or utcnow()
    counts = planner.preview(
        session, audience(session, broadcast), **_plan_args(session, broadcast, at)
    )
    return {"at": at.isoformat(), **counts.as_dict()}


def plan_now(session: Session, broadcast: Broadcast, now: datetime | None = None) -> dict[str, Any]:
    """Plan every customer of the audience (once: a second call plans no one again) and name
    each delivery's content; the dispatcher sends them from their send time."""
    now = now or utcnow()
    if broadcast.status == "cancelled":
        raise Conflict(N_("this broadcast was cancelled"), field="status")
    last_before = session.scalar(select(func.max(Delivery.id))) or 0
    result = planner.plan(
        session, audience(session, broadcast), **_plan_args(session, broadcast, now)
    ).as_dict()
    for variant in variants_of(session, broadcast):
        for channel, content_id in variant.contents.items():
            session.execute(
                update(Delivery)
                .where(
                    Delivery.origin == ORIGIN,
                    Delivery.origin_id == broadcast.id,
                    Delivery.variant == variant.key,
                    Delivery.channel == channel,
                    Delivery.content_id.is_(None),
                )
                .values(content_id=content_id)
            )
    _record_planned(session, broadcast, last_before, now)
    if broadcast.coupon_template:
        result["coupons"] = _hand_out(session, broadcast, last_before, now)
    messaging.request_dispatch(session, now)
    broadcast.status, broadcast.planned_at = "sending", now
    return result


def _hand_out(
    session: Session, broadcast: Broadcast, after_id: int, now: datetime
) -> dict[str, Any]:
    """One coupon of the broadcast's template to each customer just planned (not to the holdout,
    who are kept back to measure the effect, nor to those left out): issued with the plan, in
    its transaction, so planning again hands out none twice. A template paused or ended since
    the broadcast was made issues none, and says so."""
    planned = session.scalars(
        select(Delivery.customer_id)
        .where(
            Delivery.origin == ORIGIN,
            Delivery.origin_id == broadcast.id,
            Delivery.id > after_id,
            Delivery.status == "planned",
        )
        .distinct()
    ).all()
    assert broadcast.coupon_template is not None
    try:
        done = promotions.issue(
            session, broadcast.coupon_template, planned, ORIGIN, str(broadcast.id), now
        )
    except SiyuError:
        return {"issued": 0, "skipped": {"unavailable": len(planned)}}
    return {"issued": len(done.coupons), "skipped": dict(done.skipped)}


def _record_planned(session: Session, broadcast: Broadcast, after_id: int, now: datetime) -> None:
    """One `Message Planned` per customer just planned or held out (deliveries after `after_id`:
    planning again writes none twice), with their arm, to the lake: the results report compares
    the arms from these (analytics.message_results)."""
    chosen = (
        select(Delivery)
        .where(
            Delivery.origin == ORIGIN,
            Delivery.origin_id == broadcast.id,
            Delivery.id > after_id,
            Delivery.status.in_(("planned", "held_out")),
        )
        .order_by(Delivery.id)
        .execution_options(yield_per=PLANNED_CHUNK)
    )
    for chunk in session.scalars(chosen).partitions():
        messaging.record_message_events(session, PLANNED_EVENT, chunk, now)


def run_send(session: Session, payload: dict[str, Any]) -> None:
    """Job `broadcasts.send`: plan a scheduled broadcast when its time has come. A broadcast
    cancelled meanwhile, or planned already, is left as it is."""
    broadcast = session.get(Broadcast, int(payload["id"]))
    if broadcast is None or broadcast.status != "scheduled":
        return
    plan_now(session, broadcast)


def finish_settled(session: Session, now: datetime | None = None) -> list[int]:
    """Broadcasts being sent of which nothing is left waiting (every delivery sent, delivered,
    failed, cancelled, left or held out) become `sent`, finished `now`. Their ids."""
    now = now or utcnow()
    waiting = (
        select(Delivery.id)
        .where(
            Delivery.origin == ORIGIN,
            Delivery.origin_id == Broadcast.id,
            Delivery.status.in_(WAITING),
        )
        .exists()
    )
    settled = session.scalars(select(Broadcast).where(Broadcast.status == "sending", ~waiting))
    finished = []
    for broadcast in settled:
        broadcast.status, broadcast.finished_at = "sent", now
        finished.append(broadcast.id)
    session.flush()
    return finished


def run_finish(session: Session, payload: dict[str, Any]) -> None:
    """Job `broadcasts.finish` (every minute): mark sent the broadcasts with nothing waiting."""
    finish_settled(session)
