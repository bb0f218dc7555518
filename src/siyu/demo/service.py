"""Build the demo brand through the product's own services: registry, ingest, shipper, keys."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from random import Random

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.codes.demo import seed_demo as seed_codes
from siyu.core import auth, meta
from siyu.core.audit import acting_as
from siyu.core.db import unit_of_work, utcnow
from siyu.core.lake import refresh_snapshots
from siyu.customers.models import Customer, Identity
from siyu.demo.activities import seed_activities
from siyu.demo.brand import BRAND, STAFF, STORES, TOUCHPOINTS, StoreSpec, TouchpointSpec
from siyu.demo.members import seed_members
from siyu.demo.promotions import seed_coupons
from siyu.demo.reach import seed_reach
from siyu.demo.segments import seed_demo as seed_segments
from siyu.demo.stream import Plan, generate
from siyu.demo.tasks import seed_tasks
from siyu.demo.timeline import Timeline
from siyu.demo.users import DemoUser, ensure_demo_users
from siyu.events import shipper, sources
from siyu.events.models import OutboxEvent, Source
from siyu.events.service import SourceRef, ingest
from siyu.orders.models import Order
from siyu.staff import service as staff_service
from siyu.staff.models import Staff, Store
from siyu.touchpoints import service as touchpoints
from siyu.touchpoints.models import Touchpoint, TouchpointCost

MARKER = "demo"
Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class Loaded:
    """What the ingest stage did: events stored and the seconds it took."""

    events: int = 0
    seconds: float = 0.0

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Summary:
    customers: int
    identified: int
    members: int
    events: int
    orders: int
    gmv_fen: int
    refunded_fen: int
    touchpoints: int
    paid_touchpoints: int
    stores: int
    guides: int
    owned_customers: int
    lake_events: int
    seconds: float
    events_per_second: float


@dataclass(frozen=True)
class Access:
    """How to reach the demo: a write key (None when the source existed) and an admin token."""

    source: str
    write_key: str | None
    admin_token: str
    users: list[DemoUser] = field(default_factory=list)


@dataclass(frozen=True)
class Demo:
    summary: Summary
    access: Access


def has_data(session: Session) -> bool:
    """True when the database already holds customers or a demo."""
    return (
        meta.read(session, MARKER) is not None
        or session.scalar(select(Customer.id).limit(1)) is not None
    )


def set_up_brand(session: Session, plan: Plan, now: datetime) -> dict[str, int]:
    """Stores, staff, touchpoints and paid touchpoints' costs; returns staff ids by WeCom id."""
    store_ids = {s.code: _open_store(session, s) for s in STORES}
    staff_ids = {
        s.wecom_userid: staff_service.create_staff(
            session, s.name, s.role, store_ids.get(s.store) if s.store else None, s.wecom_userid
        ).id
        for s in STAFF
    }
    timeline = plan.timeline(now)
    for spec in TOUCHPOINTS:
        touchpoint = touchpoints.register(
            session,
            spec.code,
            spec.name,
            spec.group,
            spec.entry_type,
            store_id=store_ids.get(spec.store) if spec.store else None,
            owner_id=staff_ids.get(spec.owner) if spec.owner else None,
        )
        if spec.cost_per_contact is not None:
            _record_costs(session, touchpoint, spec, spec.cost_per_contact, plan, timeline)
    return staff_ids


def _open_store(session: Session, spec: StoreSpec) -> int:
    return staff_service.create_store(session, spec.code, spec.name, spec.city).id


def _record_costs(
    session: Session,
    touchpoint: Touchpoint,
    spec: TouchpointSpec,
    cost_per_contact: Decimal,
    plan: Plan,
    timeline: Timeline,
) -> None:
    """A cost row per month of the period: the expected new contacts times the cost of one."""
    if session.scalar(
        select(TouchpointCost.id).where(TouchpointCost.touchpoint_id == touchpoint.id)
    ):
        return
    share = Decimal(str(spec.weight / sum(t.weight for t in TOUCHPOINTS if t.campaign is None)))
    rng = Random(f"{plan.seed}:{spec.code}")
    for first, last in _months(timeline):
        contacts = (
            Decimal(plan.customers) * share * Decimal(str(timeline.share_between(first, last)))
        )
        noise = Decimal(rng.randint(85, 115)) / 100
        cost = contacts * cost_per_contact * noise * 100
        touchpoints.record_cost(
            session,
            touchpoint.code,
            timeline.instant(first, 0),
            timeline.instant(last + 1, 0),
            int(cost.quantize(Decimal(1), rounding=ROUND_HALF_UP)),
        )
    session.flush()


def _months(timeline: Timeline) -> list[tuple[int, int]]:
    """The period's days grouped by calendar month, as (first, last) day indexes."""
    months: list[tuple[int, int]] = []
    for day in range(timeline.days):
        if day == 0 or timeline.date(day).day == 1:
            months.append((day, day))
        months[-1] = (months[-1][0], day)
    return months


def load_events(
    plan: Plan,
    staff_ids: dict[str, int],
    now: datetime,
    on_day: Callable[[int], None] | None = None,
) -> Loaded:
    """Generate and ingest the stream, one transaction per batch, as the tracking API would."""
    loaded, started = Loaded(), time.perf_counter()
    with unit_of_work() as session:
        source = sources.internal_source(session, MARKER)
    for batch in generate(plan, now):
        with unit_of_work() as session:
            _ingest_batch(session, source, batch.messages)
            owners = {key: staff_ids[guide] for key, guide in batch.owners}
            staff_service.assign_owners(session, owners)
        loaded.events += len(batch.messages)
        if on_day:
            on_day(batch.day)
    loaded.seconds = time.perf_counter() - started
    return loaded


def _ingest_batch(session: Session, source: SourceRef, messages: list[dict]) -> None:
    result = ingest(session, source, messages, received_at=utcnow())
    if result.rejected:
        first = result.rejected[0]
        raise RuntimeError(
            f"the demo generated an invalid event ({first.field}: {first.reason}): "
            f"{messages[first.index]}"
        )


def _marker(plan: Plan, loaded: Loaded) -> dict:
    return {
        "brand": BRAND,
        "customers": plan.customers,
        "days": plan.days,
        "seed": plan.seed,
        "end_date": plan.end_date.isoformat(),
        "events": loaded.events,
        "loaded_at": utcnow().isoformat(),
    }


def grant_access(session: Session, users: list[DemoUser], source_name: str = "mall") -> Access:
    """A write key for the mall source (unless it exists), an admin API token, console users."""
    exists = session.scalar(select(Source.id).where(Source.name == source_name)) is not None
    write_key = None if exists else sources.create_key(session, source_name)[1]
    _, token = auth.create_token(session, "demo-admin", "admin")
    return Access(source_name, write_key, token, users)


def summarize(session: Session, loaded: Loaded, shipped: int, seconds: float) -> Summary:
    orders, gross, refunded = session.execute(
        select(
            func.count(Order.id),
            func.coalesce(func.sum(Order.amount_fen), 0),
            func.coalesce(func.sum(Order.refunded_fen), 0),
        )
    ).one()
    alive = Customer.merged_into_id.is_(None)
    return Summary(
        customers=_count(session, Customer.id, alive),
        identified=_count(session, Customer.id, alive, Customer.is_identified.is_(True)),
        members=_count(session, Identity.id, Identity.type == "member_id"),
        events=loaded.events,
        orders=orders,
        gmv_fen=int(gross),
        refunded_fen=int(refunded),
        touchpoints=_count(session, Touchpoint.id),
        paid_touchpoints=_count(session, Touchpoint.id, Touchpoint.entry_type == "paid"),
        stores=_count(session, Store.id),
        guides=_count(session, Staff.id, Staff.role == "guide"),
        owned_customers=_count(session, Customer.id, alive, Customer.owner_id.is_not(None)),
        lake_events=shipped,
        seconds=seconds,
        events_per_second=loaded.events_per_second,
    )


def _count(session: Session, column, *where) -> int:
    return session.scalar(select(func.count(column)).where(*where)) or 0


def build(plan: Plan, now: datetime, progress: Progress | None = None) -> Demo:
    """The whole demo: brand, events, marker, lake, snapshots, then a write key and a token."""
    report = progress or (lambda stage, done, total: None)
    started = time.perf_counter()
    with acting_as("cli:demo"), unit_of_work() as session:
        staff_ids = set_up_brand(session, plan, now)
    report("events", 0, plan.days)
    loaded = load_events(plan, staff_ids, now, lambda day: report("events", day, plan.days))
    report("events", plan.days, plan.days)
    with acting_as("cli:demo"), unit_of_work() as session:
        loaded.events += seed_tasks(session, plan, now)  # guide tasks, done at each guide's rate
    with unit_of_work() as session:
        meta.write(session, MARKER, _marker(plan, loaded))
        waiting = shipper.counts(session)["waiting"]
    shipped = _ship(waiting, report)
    refresh_snapshots(always=True)
    seed_segments()  # tags, auto-tags and segments of the demo brand
    seed_codes()  # channel codes (渠道活码) of the demo's touchpoints, with routing
    reached = _reach(plan, now, report)  # channels, consent and a year of broadcasts (群发)
    reached += _coupons(plan, now, report)  # the orders' coupons, issued and redeemed (券)
    reached += _activities(plan, now, report)  # weekly flash sales, monthly big ones (活动)
    reached += _members(now)  # member tiers and points from the year's orders (会员体系)
    loaded.events += reached
    if reached:
        shipped += _ship(reached, report)
        refresh_snapshots(always=True)  # the message touchpoints, registered on first send
    with unit_of_work() as session:
        summary = summarize(session, loaded, shipped, time.perf_counter() - started)
    with acting_as("cli:demo"), unit_of_work() as session:
        access = grant_access(session, ensure_demo_users(session))
    return Demo(summary, access)


def _reach(plan: Plan, now: datetime, report: Progress) -> int:
    """The demo brand's reach, and the events it wrote (messages, consent withdrawn)."""
    with unit_of_work() as session:
        before = session.scalar(select(func.count(OutboxEvent.id))) or 0
    seed_reach(plan, now, report)
    with unit_of_work() as session:
        return (session.scalar(select(func.count(OutboxEvent.id))) or 0) - before


def _coupons(plan: Plan, now: datetime, report: Progress) -> int:
    """The demo's coupons, and the events they wrote."""
    with unit_of_work() as session:
        before = session.scalar(select(func.count(OutboxEvent.id))) or 0
    seed_coupons(now, plan.seed, lambda done, total: report("coupons", done, total))
    with unit_of_work() as session:
        return (session.scalar(select(func.count(OutboxEvent.id))) or 0) - before


def _activities(plan: Plan, now: datetime, report: Progress) -> int:
    """The demo's flash sales, group buys and tiered prices, and the events they wrote."""
    with unit_of_work() as session:
        before = session.scalar(select(func.count(OutboxEvent.id))) or 0
    seed_activities(
        now, plan.days, plan.zone, lambda done, total: report("activities", done, total)
    )
    with unit_of_work() as session:
        return (session.scalar(select(func.count(OutboxEvent.id))) or 0) - before


def _members(now: datetime) -> int:
    """The demo's member tiers and points, and the events they wrote."""
    with unit_of_work() as session:
        before = session.scalar(select(func.count(OutboxEvent.id))) or 0
    seed_members(now)
    with unit_of_work() as session:
        return (session.scalar(select(func.count(OutboxEvent.id))) or 0) - before


def _ship(waiting: int, report: Progress) -> int:
    done = 0
    report("lake", 0, waiting)

    def shipped(rows: int) -> None:
        nonlocal done
        done += rows
        report("lake", done, waiting)

    return shipper.ship_all(progress=shipped)


def yuan(fen: int) -> str:
    """Integer fen as ¥ with thousands separators, through Decimal."""
    return f"¥{(Decimal(fen) / 100).quantize(Decimal('0.01')):,}"


def demo_users_present() -> list[DemoUser]:
    """The demo's console users that exist, to remind a newcomer how to sign in."""
    with unit_of_work() as session:
        if meta.read(session, MARKER) is None:
            return []
        return ensure_demo_users(session)
