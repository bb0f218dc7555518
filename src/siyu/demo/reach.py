"""The demo brand reaches its customers (触达): every channel in console mode (the sender that
records to the log, pointing nowhere real) with its non-secret settings, the brand's caps and
quiet hours, SMS consent as customers gave it, and a year of broadcasts (群发) through WeCom with
SMS as the fallback, sent at their historical times, so the reports show messages as touches;
then the two SOP journeys, running (demo.journeys).

Everything goes through messaging's and broadcasts' services, and every draw comes from the
demo's seed. A broadcast months ago went to who was a customer then: the older ones are sent
to a list of them (as an operator uploads an export); the last weeks' go to the demo's segments,
whose members are today's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from random import Random
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from siyu.broadcasts import service as broadcasts
from siyu.broadcasts.models import Broadcast
from siyu.core.audit import acting_as
from siyu.core.db import rowcount, unit_of_work, utcnow
from siyu.core.jobs import Job
from siyu.customers.models import Customer, Identity
from siyu.demo.journeys import run_journeys
from siyu.demo.stream import Plan
from siyu.demo.timeline import Timeline
from siyu.messaging import dispatch, group_sends, links, policy
from siyu.messaging import service as messaging
from siyu.messaging.models import Channel, Delivery, GroupSend
from siyu.messaging.sending import Outcome

ACTOR = "cli:demo"
# Each channel in console mode, with what an operator would fill in (no secret: those stay in
# SIYU_* settings): the provider and SMS sign name, a sender's display name, platform limits.
CHANNELS: dict[str, tuple[str | None, dict[str, Any]]] = {
    "wecom": (None, {"group_send_rule": "month_days"}),
    "official_account": (None, {"template_id": "demo-promotion-notice"}),
    "sms": ("aliyun", {"sign_name": "山茶", "template_code": "SMS_468150001"}),
    "email": (None, {"from_name": "山茶 Shancha"}),
    "call": (None, {}),
}
PLATFORM_KEYS = frozenset({"group_send_rule", "per_customer", "daily_quota"})
SMS_DAILY_QUOTA = 50_000
CAPS = (
    {"channel": None, "period": "day", "max": 1},
    {"channel": None, "period": "week", "max": 3},
    {"channel": "sms", "period": "month", "max": 2},
    {"channel": "call", "period": "month", "max": 1},
)
QUIET_HOURS = ({"channel": None, "start": "21:00", "end": "09:00"},)
# SMS consent: the share of customers with a phone who subscribed, where, and what came later.
SUBSCRIBED = 0.55
SOURCES = ("门店注册 store sign-up", "商城注册 mall sign-up")
UNSUBSCRIBED = 0.05  # of those subscribed, later withdrawn in the member centre
MINUTE = timedelta(minutes=1)
REPLY_SOURCE = "短信回复 TD"
REPLIED_TD = 0.01  # of those subscribed, later replied "TD" to an SMS: the number is suppressed
# Broadcasts: two a month, on these days, at these local times (the last one falls in quiet
# hours, so it waits for the morning).
DAYS = (8, 22)
HOURS = (time(11, 30), time(19, 30), time(21, 30))
LIST_SHARE = 0.3  # of the customers then, for a broadcast to a list
SEGMENT_WEEKS = 5  # the broadcasts of the last weeks go to the demo's segments
SEGMENT_KEYS = ("regulars", "scanned-no-order", "new-from-stores", "win-back")
LINK = "https://shancha.example/m/{}"
THEMES = (
    ("新品试饮", "山茶新品上市，凭此消息到店试饮一杯：{{ links[0] }}"),
    ("会员日福利", "本周会员日，全场第二杯半价：{{ links[0] }}"),
    ("下午茶拼单", "下午三点拼单满两杯减五元：{{ links[0] }}"),
    ("季节限定", "季节限定茶饮回来了，先到先得：{{ links[0] }}"),
    ("积分兑换", "你的积分可以换一杯招牌茶了：{{ links[0] }}"),
    ("老朋友回来", "好久不见，送你一张回归券：{{ links[0] }}"),
)
# What became of the messages, by channel: the share delivered (an SMS receipt), failed (a
# receipt saying the number is out of service), and clicked.
DELIVERED = {"sms": 0.92}
FAILED = {"sms": 0.04}
CLICKED = {"wecom": 0.08, "sms": 0.03}
SMS_FAILURE = "receipt: MOBILE_NOT_ON_SERVICE"
# WeCom in console mode hands each guide their share of a 群发 to send by hand: most guides
# confirm it on their page ("I sent it") within this many hours; the others' shares expire.
CONFIRMED = 0.85
CONFIRM_HOURS = (1, 36)
EXPIRY_CHECK = timedelta(minutes=10)  # the group-sends job's period
RECEIPT_AFTER = timedelta(seconds=30)
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Send:
    """One broadcast of the demo's year."""

    number: int
    at: datetime
    theme: str
    text: str
    segment_key: str | None
    is_ab: bool
    holdout_percent: int


def seed_reach(plan: Plan, now: datetime, report: Progress | None = None) -> None:
    """Channels, caps, quiet hours, consent and the year's broadcasts (idempotent: a database
    that has broadcasts already gets none again)."""
    report = report or (lambda stage, done, total: None)
    timeline = plan.timeline(now)
    with acting_as(ACTOR), unit_of_work() as session:
        if session.scalar(select(Broadcast.id).limit(1)) is not None:
            return
        configure_channels(session)
    # What customers did and what the dispatcher did are in the consent history and the
    # delivery log; the audit log keeps what the operator (the demo) did.
    with unit_of_work() as session:
        seed_consent(session, plan, timeline.cutoff)
    sends = schedule(plan, timeline)
    for done, send in enumerate(sends):
        report("reach", done, len(sends))
        with unit_of_work() as session:
            expire_shares(session, send.at)
        with acting_as(ACTOR), unit_of_work() as session:
            broadcast_id = plan_broadcast(session, plan, send)
        with unit_of_work() as session:
            send_broadcast(session, plan, session.get_one(Broadcast, broadcast_id), timeline.cutoff)
    with unit_of_work() as session:
        expire_shares(session, timeline.cutoff)
    report("reach", len(sends), len(sends))
    run_journeys(timeline.cutoff)
    with unit_of_work() as session:
        settle_dispatch_requests(session, timeline.cutoff)


def settle_dispatch_requests(session: Session, cutoff: datetime) -> int:
    """The dispatch runs the planners asked for up to the cutoff, done: the replay dispatched
    at each of those moments itself (a worker started after the demo would otherwise find a
    backlog of runs with nothing left to send). Later ones (a send deferred past the cutoff)
    stay queued for the worker."""
    done = session.execute(
        update(Job)
        .where(
            Job.kind == messaging.DISPATCH_KIND,
            Job.status == "queued",
            Job.run_at <= cutoff,
        )
        .values(status="done", attempts=1, finished_at=Job.run_at)
    )
    return rowcount(done) or 0


def configure_channels(session: Session) -> None:
    for channel, (provider, config) in CHANNELS.items():
        platform = {k: v for k, v in config.items() if k in PLATFORM_KEYS}
        if channel == "sms":
            platform["daily_quota"] = SMS_DAILY_QUOTA
        policy.set_platform_limits(session, channel, platform, actor=ACTOR)
        row = session.get_one(Channel, channel)
        row.mode, row.provider = "console", provider
        row.config = {**(row.config or {}), **config}
    policy.set_caps(session, CAPS)
    policy.set_quiet_hours(session, QUIET_HOURS)


def seed_consent(session: Session, plan: Plan, cutoff: datetime) -> None:
    """SMS consent for a share of the customers with a phone, given when they signed up; a few
    withdrawn later, and a few numbers that replied "TD" (unsubscribed and suppressed)."""
    rng = Random(f"{plan.seed}:consent")
    rows = session.execute(
        select(Customer.id, Customer.first_seen_at, Identity.value)
        .join(Identity, Identity.customer_id == Customer.id)
        .where(Identity.type == "phone", Customer.merged_into_id.is_(None))
        .order_by(Customer.id)
    ).all()
    for customer_id, first_seen, phone in rows:
        if rng.random() >= SUBSCRIBED or first_seen is None:
            continue
        messaging.set_consent(
            session,
            customer_id,
            "sms",
            "subscribed",
            method="form",
            source=rng.choice(SOURCES),
            actor=ACTOR,
            at=first_seen,
        )
        draw = rng.random()
        later = min(first_seen + timedelta(days=rng.randint(20, 200)), cutoff - MINUTE)
        later = max(later, first_seen + MINUTE)
        if draw >= REPLIED_TD + UNSUBSCRIBED:
            continue
        replied = draw < REPLIED_TD
        messaging.set_consent(
            session,
            customer_id,
            "sms",
            "unsubscribed",
            method="reply" if replied else "form",
            source=REPLY_SOURCE if replied else "会员中心退订 member centre",
            actor="customer",
            at=later,
        )
        if replied:  # what an SMS reply "TD" does (messaging.inbound), at its time
            messaging.suppress(
                session,
                "sms",
                phone,
                "replied_unsubscribe",
                source=REPLY_SOURCE,
                customer_id=customer_id,
            )


def schedule(plan: Plan, timeline: Timeline) -> list[Send]:
    """The broadcasts of the period: two a month, from its third week to the cutoff."""
    rng = Random(f"{plan.seed}:broadcasts")
    first = timeline.start + timedelta(days=14)
    recent = timeline.cutoff - timedelta(weeks=SEGMENT_WEEKS)
    sends: list[Send] = []
    for day in _days(timeline.start, timeline.cutoff.date()):
        if day < first or day.day not in DAYS:
            continue
        number = len(sends)
        at = datetime.combine(day, HOURS[number % len(HOURS)], timeline.zone)
        if at >= timeline.cutoff:
            break
        theme, text = THEMES[number % len(THEMES)]
        segment = SEGMENT_KEYS[number % len(SEGMENT_KEYS)] if at >= recent else None
        holdout = 0 if number % 4 == 3 else 10
        sends.append(Send(number, at, theme, text, segment, rng.random() < 0.35, holdout))
    return sends


def _days(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def plan_broadcast(session: Session, plan: Plan, send: Send) -> int:
    """Create and plan one broadcast at its time, as an operator would; its id."""
    broadcast = broadcasts.create(
        session,
        name=f"{send.at:%m月%d日} {send.theme}",
        actor=ACTOR,
        channels=["wecom", "sms"],
        variants=_variants(send),
        segment_key=send.segment_key,
        customer_ids=None if send.segment_key else _then_customers(session, plan, send),
        holdout_percent=send.holdout_percent,
        scheduled_at=send.at,
    )
    broadcast.created_at = send.at - timedelta(days=2)  # drafted two days before, as a team does
    broadcasts.plan_now(session, broadcast, send.at)
    return broadcast.id


def send_broadcast(session: Session, plan: Plan, broadcast: Broadcast, cutoff: datetime) -> None:
    """Dispatch a planned broadcast at its time; the guides confirm their shares; then its
    receipts and clicks. It is `sent` once nothing of it waits (broadcasts.finish_settled, the
    job's work), as of its last outcome."""
    _dispatch(session, broadcast)
    handed = session.scalar(
        select(func.max(Delivery.send_at)).where(
            Delivery.origin == broadcasts.ORIGIN, Delivery.origin_id == broadcast.id
        )
    )
    confirmed = _confirm_shares(session, plan, broadcast, cutoff)
    moments = (broadcast.planned_at, handed, confirmed, *_outcomes(session, plan, broadcast))
    last = max(at for at in moments if at is not None)
    broadcasts.finish_settled(session, min(last + EXPIRY_CHECK, cutoff))


def _confirm_shares(
    session: Session, plan: Plan, broadcast: Broadcast, cutoff: datetime
) -> datetime | None:
    """Most guides send their share by hand and confirm it on their page, hours later (before
    the cutoff); the moment of the last confirmation."""
    rng = Random(f"{plan.seed}:confirm:{broadcast.id}")
    shares = session.scalars(
        select(GroupSend)
        .where(GroupSend.origin == broadcasts.ORIGIN, GroupSend.origin_id == broadcast.id)
        .order_by(GroupSend.id)
    ).all()
    last = None
    for share in shares:
        at = share.created_at + timedelta(hours=rng.uniform(*CONFIRM_HOURS))
        if rng.random() < CONFIRMED and at < cutoff:
            group_sends.confirm(session, share.id, at)
            last = max(last or at, at)
    return last


def expire_shares(session: Session, until: datetime) -> None:
    """The shares no guide confirmed expire as the group-sends job finds them (each a month on,
    before `until`), and the broadcasts they held back become `sent` then."""
    give_up = until - group_sends.GIVE_UP_AFTER - EXPIRY_CHECK
    stale = session.scalars(
        select(GroupSend)
        .where(GroupSend.status == "pending", GroupSend.created_at < give_up)
        .order_by(GroupSend.created_at, GroupSend.id)
    ).all()
    for share in stale:
        at = share.created_at + group_sends.GIVE_UP_AFTER + EXPIRY_CHECK
        group_sends.expire(session, share, at)
        broadcasts.finish_settled(session, at)


def _variants(send: Send) -> list[broadcasts.VariantSpec]:
    link = LINK.format(send.number + 1)
    sms = {"template": CHANNELS["sms"][1]["template_code"], "params": {"link": "{{ links[0] }}"}}
    extras = {"links": [link]}
    by_channel = {"wecom": {"extras": extras}, "sms": {"extras": {**extras, **sms}}}
    variants = [broadcasts.VariantSpec("A", 1, text=send.text, by_channel=by_channel)]
    if send.is_ab:
        text_b = "【山茶】" + send.text
        variants.append(broadcasts.VariantSpec("B", 1, text=text_b, by_channel=by_channel))
    return variants


def _then_customers(session: Session, plan: Plan, send: Send) -> list[int]:
    """A share of the customers first seen at least three days before the broadcast."""
    rng = Random(f"{plan.seed}:list:{send.number}")
    ids = session.scalars(
        select(Customer.id)
        .where(
            Customer.merged_into_id.is_(None),
            Customer.first_seen_at < send.at - timedelta(days=3),
        )
        .order_by(Customer.id)
    )
    return [customer_id for customer_id in ids if rng.random() < LIST_SHARE]


def _dispatch(session: Session, broadcast: Broadcast) -> None:
    """Hand the broadcast's deliveries to the console senders at their send times (the ones
    quiet hours deferred wait for the morning), as the dispatcher's job would have."""
    senders = dispatch.senders(session)
    configs = {row.channel: row.config or {} for row in session.scalars(select(Channel))}
    while (due := _next_due(session, broadcast)) is not None:
        for channel in broadcast.channels:
            while dispatch.dispatch_channel(
                session, channel, senders.get(channel), configs.get(channel), now=due
            ):
                pass


def _next_due(session: Session, broadcast: Broadcast) -> datetime | None:
    return session.scalar(
        select(func.min(Delivery.send_at)).where(
            Delivery.origin == broadcasts.ORIGIN,
            Delivery.origin_id == broadcast.id,
            Delivery.status == "planned",
        )
    )


def _outcomes(session: Session, plan: Plan, broadcast: Broadcast) -> list[datetime]:
    """SMS receipts (delivered, or failed: the number is out of service) half a minute after
    each message was sent, and clicks on the tracked link in the hours after; the receipts'
    times."""
    rng = Random(f"{plan.seed}:outcomes:{broadcast.id}")
    sent = session.scalars(
        select(Delivery)
        .where(
            Delivery.origin == broadcasts.ORIGIN,
            Delivery.origin_id == broadcast.id,
            Delivery.sent_at.is_not(None),
        )
        .order_by(Delivery.id)
    ).all()
    receipts: dict[datetime, list[Outcome]] = {}
    clicks: list[tuple[int, datetime]] = []
    for delivery in sent:
        at = delivery.sent_at or broadcast.planned_at or utcnow()
        draw, failed = rng.random(), FAILED.get(delivery.channel, 0)
        if draw < failed:
            outcome = Outcome(delivery.id, "failed", error=SMS_FAILURE)
        elif draw < failed + DELIVERED.get(delivery.channel, 0):
            outcome = Outcome(delivery.id, "delivered")
        else:
            outcome = None
        if outcome is not None:
            receipts.setdefault(at + RECEIPT_AFTER, []).append(outcome)
        is_failed = outcome is not None and outcome.status == "failed"
        if not is_failed and rng.random() < CLICKED.get(delivery.channel, 0):
            clicks.append((delivery.id, at + timedelta(minutes=rng.randint(2, 600))))
    for at, outcomes in receipts.items():
        dispatch.record_outcomes(session, outcomes, at)
    key = links.secret(session)
    for delivery_id, at in clicks:
        links.follow(session, links.link_code(key, delivery_id, 0), at)
    return list(receipts)
