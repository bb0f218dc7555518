"""The dispatcher (job "messaging.dispatch"): hands due deliveries to their channel's sender and
records what came of them, so that a crash or a retry never sends a message twice and never
silently drops one.

Each round, per channel: the due `planned` deliveries (oldest first, a bounded batch) are checked
again against consent and suppression (an unsubscribe stops every message not yet handed over),
marked `sending` and COMMITTED, and only then given to the sender; its outcomes are recorded and
committed. A sender that answers one message at a time (`SendsEach`: email, whose SMTP takes no
idempotency key) has each outcome committed as it comes, before the next message goes, so a crash
can leave only the one message in flight whose acceptance was not yet recorded. A crash between
the two commits leaves rows in `sending`: once their lease has passed
(SIYU_SENDING_LEASE_SECONDS, counted from `send_at`, which holds the moment of the hand-over while
a row is `sending`), the sender's `reconcile` is asked what became of them. Where it cannot tell
(None), the delivery is sent again with the same key; for email the key is the Message-ID, which
receivers dedup on. How often that happens shows as deliveries sent with `attempts` > 1.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from importlib import import_module
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from siyu.core.db import commit_progress, utcnow
from siyu.core.settings import Settings, get_settings
from siyu.messaging import group_sends, quota, service
from siyu.messaging.channels.console import ConsoleGroupSender, ConsoleSender, NotConnected
from siyu.messaging.compose import compose
from siyu.messaging.models import CHANNELS, Channel, Consent, Delivery, Suppression
from siyu.messaging.sending import Outcome, Outgoing, Sender, SendsEach

log = logging.getLogger("siyu.messaging")

KIND = service.DISPATCH_KIND
MAX_ATTEMPTS = 5  # a delivery failing with retry=True is tried this many times in all
TIME_BUDGET = 45.0  # seconds a job dispatches before it books the next one (the job lease is 5 min)
# What to set for a live channel whose sender is missing or unconfigured.
NEEDS = {
    "email": "SIYU_SMTP_URL and SIYU_MAIL_FROM",
    "sms": "SIYU_SMS_PROVIDER and the provider's keys",
    "wecom": "SIYU_WECOM_CORP_ID and SIYU_WECOM_SECRET",
    "official_account": "SIYU_WECHAT_APP_ID and SIYU_WECHAT_SECRET",
    "call": "the call-list sender",
}
# A live sender is built from the settings and the channel's row: module, then the callable.
LIVE = {
    "email": ("siyu.messaging.channels.email", "EmailSender"),
    "sms": ("siyu.messaging.channels.sms", "sender_for"),
    "wecom": ("siyu.messaging.channels.wecom", "WecomSender"),
    "official_account": ("siyu.messaging.channels.official_account", "OfficialAccountSender"),
    "call": ("siyu.messaging.channels.calls", "CallSender"),
}


def senders(session: Session) -> dict[str, Sender]:
    """Each channel's sender as its Channel row says (off: none; console, the default when no
    row exists: the log, and for WeCom 群发 shares the guides confirm on Siyu's page; live: the
    provider's), built from the settings."""
    settings = get_settings()
    rows = {row.channel: row for row in session.scalars(select(Channel))}
    built = {channel: _sender(channel, rows.get(channel), settings) for channel in CHANNELS}
    return {channel: sender for channel, sender in built.items() if sender is not None}


def _sender(channel: str, row: Channel | None, settings: Settings) -> Sender | None:
    mode = row.mode if row is not None else "console"
    if mode == "off":
        return None
    if mode != "live":
        return ConsoleGroupSender() if channel == group_sends.CHANNEL else ConsoleSender(channel)
    module_name, name = LIVE[channel]
    try:
        build: Callable[..., Sender] = getattr(import_module(module_name), name)
    except (ImportError, AttributeError):
        return NotConnected(channel, f"not connected: set {NEEDS[channel]}")
    try:
        return build(settings, row)
    except Exception as problem:  # a missing setting: every delivery says what to set
        log.warning("the %s sender cannot be built: %s", channel, problem)
        return NotConnected(channel, f"not connected: set {NEEDS[channel]} ({problem})")


def dispatch_due(session: Session, payload: dict[str, Any]) -> None:
    """Job handler: dispatch what is due, channel by channel, until nothing is left or the time
    budget is spent; book the next run when more is waiting."""
    started = time.monotonic()
    ways = senders(session)
    configs = {row.channel: row.config or {} for row in session.scalars(select(Channel))}
    commit_progress(session, "the senders read")
    out_of_time = False
    while not out_of_time:
        moved = reconcile_stale(session, ways)
        for channel in CHANNELS:
            moved += dispatch_channel(session, channel, ways.get(channel), configs.get(channel))
        if not moved:
            break
        out_of_time = time.monotonic() - started > TIME_BUDGET
    _book_next(session, utcnow(), out_of_time)  # committed with the job's end


def dispatch_channel(
    session: Session,
    channel: str,
    sender: Sender | None,
    config: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> int:
    """One batch of a channel's due deliveries: checked, taken, sent, recorded (two commits).
    Returns how many deliveries it moved."""
    now = now or utcnow()
    if sender is None:
        return _leave_out_switched_off(session, channel, now)
    left = quota.left_today(session, channel, config, now)
    if left is not None and left <= 0:
        moved = quota.wait_for_next_day(session, channel, now)
        commit_progress(session, "the day's quota spent: due deliveries wait for the next day")
        return moved
    room = _room(session, channel, (config or {}).get("per_minute"), now)
    room = room if left is None else min(room, left)
    if room <= 0:
        return 0
    due = list(
        session.scalars(
            _locked(
                session,
                select(Delivery)
                .where(
                    Delivery.channel == channel,
                    Delivery.status == "planned",
                    Delivery.send_at <= now,
                )
                .order_by(Delivery.send_at, Delivery.id)
                .limit(room)
                .execution_options(populate_existing=True),
            )
        )
    )
    if not due:
        commit_progress(session, "nothing due")
        return 0
    stopped = _stop_unreachable(session, channel, due)
    ready, broken = compose(session, [d for d in due if d.id not in stopped])
    record_outcomes(session, broken, now)
    taken = _take(session, [outgoing.delivery_id for outgoing in ready], now)
    commit_progress(session, "deliveries taken (sending) before the provider is called")
    batch = [outgoing for outgoing in ready if outgoing.delivery_id in taken]
    if batch:
        _send(session, sender, batch, now)
    return len(due)


def _locked(session: Session, query: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True)
    return query


def _room(session: Session, channel: str, per_minute: Any, now: datetime) -> int:
    """How many may be handed over now: the batch size, within the channel's per-minute rate."""
    batch = get_settings().dispatch_batch
    if not per_minute:
        return batch
    recent = session.scalar(
        select(func.count())
        .select_from(Delivery)
        .where(
            Delivery.channel == channel,
            or_(Delivery.status == "sending", Delivery.sent_at >= now - timedelta(minutes=1)),
        )
    )
    return min(batch, int(per_minute) - int(recent or 0))


def _leave_out_switched_off(session: Session, channel: str, now: datetime) -> int:
    """A channel switched off sends nothing: its due deliveries are left out (no_channel), not
    kept to go out late all at once when it is switched on again."""
    ids = list(
        session.scalars(
            select(Delivery.id)
            .where(
                Delivery.channel == channel,
                Delivery.status == "planned",
                Delivery.send_at <= now,
            )
            .limit(get_settings().dispatch_batch)
        )
    )
    if ids:
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.status == "planned")
            .values(status="left_out", reason="no_channel")
        )
    commit_progress(session, "a switched-off channel's deliveries left out")
    return len(ids)


def _stop_unreachable(session: Session, channel: str, due: Sequence[Delivery]) -> set[int]:
    """Cancel the deliveries that may no longer go, with why: consent withdrawn or never given
    (marketing), a suppressed address, no address. Returns their ids."""
    customers = sorted({d.customer_id for d in due})
    consent = dict(
        session.execute(
            select(Consent.customer_id, Consent.status).where(
                Consent.channel == channel, Consent.customer_id.in_(customers)
            )
        ).all()
    )
    addresses = sorted({d.address for d in due if d.address})
    suppressed = dict(
        session.execute(
            select(Suppression.address, Suppression.reason).where(
                Suppression.channel == channel, Suppression.address.in_(addresses)
            )
        ).all()
    )
    reasons: dict[int, str] = {}
    for delivery in due:
        reason = _why_not(delivery, consent.get(delivery.customer_id), suppressed)
        if reason:
            reasons[delivery.id] = reason
    for reason in set(reasons.values()):
        ids = [i for i, r in reasons.items() if r == reason]
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.status == "planned")
            .values(status="cancelled", reason=reason)
        )
    return set(reasons)


def _why_not(delivery: Delivery, consent: str | None, suppressed: dict[str, str]) -> str | None:
    if not delivery.address:
        return "no_address"
    reason = suppressed.get(delivery.address)
    if delivery.purpose != "marketing":
        return "suppressed" if reason in service.STOPS_TRANSACTIONAL else None
    if reason is not None:
        return "suppressed"
    if consent == "unsubscribed":
        return "unsubscribed"
    return None if service.is_reachable(delivery.channel, consent) else "no_consent"


def _take(session: Session, ids: list[int], now: datetime) -> set[int]:
    """Mark these planned deliveries `sending` (the hand-over starts now); the ids this process
    took (another dispatcher may have taken some first)."""
    if not ids:
        return set()
    taken = session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.status == "planned")
        .values(status="sending", send_at=now, attempts=Delivery.attempts + 1)
        .returning(Delivery.id)
        .execution_options(synchronize_session=False)
    )
    return set(taken.scalars())


def _send(session: Session, sender: Sender, batch: list[Outgoing], now: datetime) -> None:
    """Hand the batch over and record the outcomes. A sender that raises leaves the rest of the
    batch in `sending`: what it did is unknown, so the rows wait for reconciliation."""
    if isinstance(sender, SendsEach):
        _send_each(session, sender, batch, now)
        return
    try:
        outcomes = sender.send(batch)
    except Exception:
        log.exception("the %s sender failed on %d deliveries", sender.channel, len(batch))
        return
    _record_sent(session, sender, outcomes, batch, now)


def _send_each(session: Session, sender: SendsEach, batch: list[Outgoing], now: datetime) -> None:
    """Each outcome committed as the provider gives it, before the next message is handed over:
    a crash leaves at most the one message between the provider's answer and this commit."""
    outcomes = sender.send_each(batch)
    while True:
        try:
            outcome = next(outcomes, None)
        except Exception:
            log.exception("the %s sender failed during a batch", sender.channel)
            return
        if outcome is None:
            return
        record_outcomes(session, [outcome], now)
        commit_progress(session, "a message the provider has answered")


def _record_sent(
    session: Session, sender: Sender, outcomes: list[Outcome], batch: list[Outgoing], now: datetime
) -> None:
    record_outcomes(session, outcomes, now)
    if sender.channel == group_sends.CHANNEL:  # each guide's share of a 群发, to follow up
        group_sends.record_group_sends(session, outcomes, batch, now)
    commit_progress(session, "the outcomes of a batch handed over")


def reconcile_stale(session: Session, ways: dict[str, Sender], now: datetime | None = None) -> int:
    """Deliveries left `sending` past the lease: ask each channel's sender what became of them;
    those it cannot tell are sent again with the same key. Returns how many were looked at."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=get_settings().sending_lease_seconds)
    moved = 0
    for channel, sender in ways.items():
        stale = list(
            session.scalars(
                _locked(
                    session,
                    select(Delivery)
                    .where(
                        Delivery.channel == channel,
                        Delivery.status == "sending",
                        Delivery.send_at < cutoff,
                    )
                    .order_by(Delivery.send_at, Delivery.id)
                    .limit(get_settings().dispatch_batch)
                    .execution_options(populate_existing=True),
                )
            )
        )
        if not stale:
            continue
        # Take them over (a new lease) so no other dispatcher reconciles them at the same time.
        taken = session.execute(
            update(Delivery)
            .where(
                Delivery.id.in_([d.id for d in stale]),
                Delivery.status == "sending",
                Delivery.send_at < cutoff,
            )
            .values(send_at=now)
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        )
        mine = set(taken.scalars())
        commit_progress(session, "stale deliveries taken over for reconciliation")
        ready, broken = compose(session, [d for d in stale if d.id in mine])
        record_outcomes(session, broken, now)
        commit_progress(session, "what reconciliation could not render")
        batch = list(ready)
        moved += len(mine)
        _reconcile(session, sender, batch, now)
    return moved


def _reconcile(session: Session, sender: Sender, batch: list[Outgoing], now: datetime) -> None:
    try:
        answers = sender.reconcile(batch)
    except Exception:
        log.exception("the %s sender could not reconcile %d deliveries", sender.channel, len(batch))
        return
    known = [answer for answer in answers if answer is not None]
    unknown = [item for item, answer in zip(batch, answers, strict=True) if answer is None]
    if known:
        record_outcomes(session, known, now)
        if sender.channel == group_sends.CHANNEL:
            group_sends.record_group_sends(session, known, batch, now)
    if unknown:
        log.warning(
            "%s: %d deliveries of unknown outcome sent again with their own keys",
            sender.channel,
            len(unknown),
        )
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_([o.delivery_id for o in unknown]))
            .values(attempts=Delivery.attempts + 1)
        )
    commit_progress(session, "reconciled outcomes, and what is sent again")
    if unknown:
        _send(session, sender, unknown, now)


# Where a status stands in a delivery's life: an outcome never moves a delivery back.
RANK = {"planned": 0, "sending": 1, "pending": 2, "sent": 3, "delivered": 4}
FINAL = frozenset({"failed", "cancelled", "left_out", "held_out"})


def record_outcomes(
    session: Session, outcomes: Sequence[Outcome], now: datetime | None = None
) -> None:
    """Apply what senders, receipts and callbacks tell of deliveries: status, provider id,
    times and error, and `Message Sent` / `Message Delivered` / `Message Failed` once each (a
    repeated outcome changes nothing). A retryable failure is planned again with a backoff,
    up to MAX_ATTEMPTS. The caller commits."""
    now = now or utcnow()
    if not outcomes:
        return
    ids = sorted({outcome.delivery_id for outcome in outcomes})
    rows: dict[int, Delivery] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows.update(
            {
                d.id: d
                for d in session.scalars(
                    select(Delivery)
                    .where(Delivery.id.in_(chunk))
                    .execution_options(populate_existing=True)
                )
            }
        )
    written: list[dict[str, Any]] = []
    bounced: list[Delivery] = []
    for outcome in outcomes:
        delivery = rows.get(outcome.delivery_id)
        if delivery is None:
            log.warning("an outcome for delivery %s, which does not exist", outcome.delivery_id)
            continue
        written.extend(_apply(delivery, outcome, now))
        if outcome.status == "failed" and delivery.reason == "bounced" and delivery.address:
            bounced.append(delivery)
    session.flush()
    for delivery in bounced:  # the address does not exist: nothing more goes to it
        service.suppress(
            session,
            delivery.channel,
            delivery.address or "",
            "bounced",
            source=(delivery.error or "bounced")[:200],
            customer_id=delivery.customer_id,
        )
    for start in range(0, len(written), 500):
        service.record_events(session, written[start : start + 500])


def _apply(delivery: Delivery, outcome: Outcome, now: datetime) -> list[dict[str, Any]]:
    """Move one delivery on by one outcome; the events this move writes."""
    if outcome.provider_id:
        delivery.provider_id = outcome.provider_id
    if outcome.status == "failed":
        return _fail(delivery, outcome, now)
    if delivery.status in FINAL and delivery.status != "failed":
        return []
    events = []
    if outcome.status in ("sent", "delivered") and delivery.sent_at is None:
        delivery.sent_at = now
        events.append(service.message_event(delivery, "Message Sent", now))
    if outcome.status == "delivered" and delivery.delivered_at is None:
        delivery.delivered_at = now
        events.append(service.message_event(delivery, "Message Delivered", now))
    if delivery.status == "failed" or RANK.get(outcome.status, 0) > RANK.get(delivery.status, 0):
        delivery.status = outcome.status
        delivery.error = None
    return events


def _fail(delivery: Delivery, outcome: Outcome, now: datetime) -> list[dict[str, Any]]:
    if delivery.status in FINAL:
        return []
    delivery.error = (outcome.error or "failed")[:2000]
    if outcome.retry and delivery.attempts < MAX_ATTEMPTS and delivery.sent_at is None:
        delivery.status = "planned"
        delivery.send_at = now + timedelta(seconds=min(3600, 30 * 2**delivery.attempts))
        return []
    delivery.status, delivery.reason = "failed", _reason(outcome.error)
    return [service.message_event(delivery, "Message Failed", now, {"error": delivery.error[:500]})]


def _reason(error: str | None) -> str | None:
    """A short reason word when the error starts with one (`bounced: 550 …`)."""
    if not error:
        return None
    head = error.split(":", 1)[0].strip()
    return head[:24] if head.replace("_", "").isalnum() and len(head) <= 24 else None


def _book_next(session: Session, now: datetime, out_of_time: bool) -> None:
    """Book the next dispatch: now when the time budget ran out with work left, else when the
    oldest row in `sending` will pass its lease. (What a channel's rate holds back waits for
    the minute's tick.)"""
    if out_of_time:
        service.request_dispatch(session, now)
        return
    oldest = session.scalar(select(func.min(Delivery.send_at)).where(Delivery.status == "sending"))
    if oldest is not None:
        lease = timedelta(seconds=get_settings().sending_lease_seconds)
        service.request_dispatch(session, max(now, _aware(oldest) + lease + timedelta(seconds=1)))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
