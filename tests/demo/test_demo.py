"""`siyu demo`: a small brand built through the real services, on the real database and lake."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import orjson
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from siyu.cli import app
from siyu.core import db, meta
from siyu.core.auth import token_for
from siyu.core.lake import duckdb_connection
from siyu.core.settings import reset_settings
from siyu.customers.models import Customer, Identity
from siyu.demo import service
from siyu.demo.stream import Plan
from siyu.events.models import OutboxEvent, Source
from siyu.orders.models import Order
from siyu.staff.models import Staff
from siyu.touchpoints.models import Touchpoint, TouchpointCost
from siyu.users.models import User

ZONE = ZoneInfo("Asia/Shanghai")
PLAN = Plan(end_date=date(2025, 11, 30), customers=200, days=60, seed=7, zone=ZONE)
NOW = datetime(2025, 12, 1, 12, tzinfo=UTC)


@pytest.fixture
def built() -> service.Demo:
    return service.build(PLAN, NOW)


def test_demo_customers_identify_and_buy_through_the_real_services(built, session):
    summary = built.summary
    assert summary.customers == PLAN.customers
    assert summary.orders > 0 and summary.gmv_fen > 0
    kinds = set(session.scalars(select(Identity.type).distinct()))
    assert {"anonymous_id", "user_id", "phone", "member_id", "wecom_external_userid"} <= kinds
    assert session.scalar(select(func.count()).select_from(OutboxEvent)) == summary.events
    sent = {
        props["order_id"]: Decimal(props["revenue"])
        for props in _properties(session, "Order Completed")
    }
    stored = {o: fen for o, fen in session.execute(select(Order.order_id, Order.amount_fen))}
    assert {order_id: Decimal(fen) / 100 for order_id, fen in stored.items()} == sent


def test_paid_touchpoints_have_costs_and_guides_own_their_contacts(built, session):
    every = session.scalars(select(Touchpoint)).all()
    # The brand's own; messages' (message-sms, …) are registered by messaging when first sent.
    touchpoints = [t for t in every if not t.code.startswith("message-")]
    assert 28 <= len(touchpoints) <= 32
    assert all(t.is_registered for t in touchpoints)
    groups = {t.group for t in touchpoints}
    assert {"official_account", "guide", "group", "store", "paid_ad", "poster"} <= groups
    paid = [t.id for t in touchpoints if t.entry_type == "paid"]
    costs = session.execute(
        select(TouchpointCost.touchpoint_id, TouchpointCost.cost_fen).where(
            TouchpointCost.touchpoint_id.in_(paid)
        )
    ).all()
    assert paid and {t for t, _ in costs} == set(paid) and all(fen > 0 for _, fen in costs)
    _assert_guides_own_who_added_them(session, built.summary.owned_customers)


def test_double_11_peaks_and_everything_reaches_the_lake(built, session):
    paid = session.scalars(select(Order.paid_at)).all()
    per_day = Counter(moment.astimezone(ZONE).date() for moment in paid)
    assert per_day[date(2025, 11, 11)] > statistics.median(per_day.values())
    lake = duckdb_connection()
    assert lake.execute("SELECT count(*) FROM events").fetchone()[0] == built.summary.events
    assert lake.execute("SELECT count(*) FROM customers").fetchone()[0] == PLAN.customers
    assert built.summary.lake_events == built.summary.events


def test_demo_leaves_a_marker_a_write_key_and_an_admin_token(built, session):
    marker = meta.read(session, "demo")
    assert marker["brand"] == "山茶 Shancha" and marker["seed"] == PLAN.seed
    assert built.access.write_key
    assert session.scalar(select(Source.name).where(Source.name == "mall")) == "mall"
    assert token_for(session, built.access.admin_token).role == "admin"
    assert service.has_data(session)


def test_same_seed_builds_the_same_brand_on_another_database(session, tmp_path, monkeypatch):
    plan = Plan(end_date=date(2025, 11, 30), customers=80, days=30, seed=11, zone=ZONE)
    first = service.build(plan, NOW)
    url = f"sqlite:///{tmp_path / 'again.db'}"
    monkeypatch.setenv("SIYU_DATABASE_URL", url)
    monkeypatch.setenv("SIYU_LAKE", str(tmp_path / "again-lake"))
    reset_settings()
    db.upgrade(url)
    again = service.build(plan, NOW)
    with db.session_factory(url)() as other:
        assert _fingerprint(other) == _fingerprint(session)
    assert again.summary.events == first.summary.events


def test_if_empty_builds_once_and_then_leaves_the_database_alone():
    runner = CliRunner()
    args = ["demo", "--customers", "30", "--days", "20", "--end-date", "2025-11-30", "--if-empty"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "curl" in first.output
    second = runner.invoke(app, args)
    assert second.exit_code == 0
    assert "leaving it as it is" in second.output
    with db.session_factory()() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 30


def _assert_guides_own_who_added_them(session, owned: int) -> None:
    staff_id = {wecom: id_ for wecom, id_ in session.execute(select(Staff.wecom_userid, Staff.id))}
    added = session.execute(
        select(OutboxEvent.customer_id, OutboxEvent.properties).where(
            OutboxEvent.event == "Contact Added"
        )
    ).all()
    assert added
    owners = {c: owner for c, owner in session.execute(select(Customer.id, Customer.owner_id))}
    for customer_id, properties in added:
        assert owners[customer_id] == staff_id[orjson.loads(properties)["guide"]]
    assert owned == len({customer_id for customer_id, _ in added})


def _properties(session, event: str) -> list[dict]:
    rows = session.scalars(select(OutboxEvent.properties).where(OutboxEvent.event == event))
    return [orjson.loads(row) for row in rows]


def _fingerprint(session) -> tuple:
    orders = session.execute(
        select(Order.order_id, Order.amount_fen, Order.refunded_fen).order_by(Order.order_id)
    ).all()
    per_event = select(OutboxEvent.event, func.count()).group_by(OutboxEvent.event)
    # Sorted here: PostgreSQL puts NULL (identify, page) last, SQLite first.
    events = sorted(session.execute(per_event).all(), key=lambda row: (row[0] or "", row[1]))
    return [tuple(o) for o in orders], [tuple(e) for e in events]


def test_a_newcomer_can_sign_in_with_each_demo_role(built, client, session):
    from tests.console_support import sign_in

    users = {u.role: u for u in built.access.users}
    assert set(users) == {"admin", "operator", "analyst", "guide"}
    for user in users.values():
        client.cookies.clear()
        assert sign_in(client, user.email, user.password).status_code == 303
    # The demo guide (signed in last) owns customers, so their list is not empty.
    page = client.get("/customers").text
    guide = session.get_one(User, session.scalar(select(User.id).where(User.role == "guide")))
    assert guide.staff_id and guide.name == session.get_one(Staff, guide.staff_id).name
    assert guide.name in page and 'href="/customers/' in page


def test_the_demo_hands_out_guide_tasks_and_guides_do_most_of_them(built, session):
    from siyu.tasks.models import GuideTask, TaskAssignment

    assert session.scalar(select(func.count()).select_from(GuideTask)) >= 3
    # The latest one is still due, so the console shows a task in progress.
    latest = session.scalars(select(GuideTask).order_by(GuideTask.id.desc())).first()
    assert latest.status == "open" and latest.due_date >= NOW.date()
    assigned = session.scalar(select(func.count()).select_from(TaskAssignment))
    done = session.scalar(
        select(func.count()).select_from(TaskAssignment).where(TaskAssignment.done_at.is_not(None))
    )
    assert assigned > 0 and 0.3 * assigned <= done < assigned
    events = dict(
        session.execute(
            select(OutboxEvent.event, func.count())
            .where(OutboxEvent.source == "tasks")
            .group_by(OutboxEvent.event)
        ).all()
    )
    assert events == {"Task Assigned": assigned, "Task Completed": done}


def test_the_demo_issues_coupons_that_its_orders_redeem(built, session):
    from siyu.promotions import service as promotions
    from siyu.promotions.models import Coupon

    templates = {t.key: t for t in promotions.list_templates(session)}
    assert {"new5", "member3", "1111-50-15"} <= templates.keys()
    stats = promotions.stats(session, [t.id for t in templates.values()])
    festival = stats[templates["1111-50-15"].id]
    # 双11's coupons went to more members than used them: some redeemed, the rest expired
    assert 0 < festival.redeemed < festival.issued
    assert festival.expired > 0 and festival.order_fen > festival.discount_fen > 0
    redeemed = session.execute(
        select(Coupon.order_id, Coupon.customer_id).where(Coupon.status == "redeemed")
    ).all()
    orders = dict(session.execute(select(Order.order_id, Order.customer_id)).all())
    assert redeemed and all(orders[o] == c for o, c in redeemed)  # each by its own order
    events = dict(
        session.execute(
            select(OutboxEvent.event, func.count())
            .where(OutboxEvent.event.in_(("Coupon Issued", "Coupon Redeemed")))
            .group_by(OutboxEvent.event)
        ).all()
    )
    assert events["Coupon Redeemed"] == len(redeemed) < events["Coupon Issued"]
