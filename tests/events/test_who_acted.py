"""Who acted: what the brand does to customers (a guide task, a message) moves none of the numbers
that say what the customers did: visitors, active customers, last visit, lifecycle stages,
funnels' entry steps and RFM recency."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from siyu.analytics import funnels, gmv, guides, rfm, runner
from siyu.console.dashboard import DashboardQuery, build_dashboard
from siyu.core.db import unit_of_work
from siyu.core.periods import Period
from siyu.customers.models import Customer
from siyu.events import catalogue
from siyu.events.service import ingest
from siyu.events.shipper import ship_all
from siyu.events.sources import internal_source
from siyu.profiles.search import lifecycle_stage
from siyu.segments import evaluation as segments
from siyu.snapshots import write_snapshots
from siyu.staff.service import assign_owners, create_staff
from siyu.tasks import service as tasks
from tests.helpers import identify, track

CUSTOMERS = 2_000
NOVEMBER = {"start": date(2026, 11, 1), "end": date(2026, 11, 30)}
NOW = datetime(2026, 12, 1, 2, tzinfo=UTC)  # 10:00 on 1 December in Shanghai
SENT = datetime(2026, 11, 30, 3, tzinfo=UTC)  # the task and the message: the period's last day
FUNNEL = {
    "period": NOVEMBER,
    "steps": [{"events": ["Message Sent", "Product Viewed"]}, {"events": ["Order Completed"]}],
    "window_hours": 24 * 30,
}
STAGES = ("new", "active", "silent", "churned")


def at(day: int, hour: int = 2) -> str:
    """A moment `day` days after 1 September 2026 (UTC), as a client sends it."""
    return (datetime(2026, 9, 1, hour, tzinfo=UTC) + timedelta(days=day)).isoformat()


def customer_history(n: int) -> list[dict]:
    """Customer n arrives between September and November; some look at products in November,
    some buy (in October or November); about a third do nothing after they arrive."""
    user, came = f"u{n}", n % 85
    messages = [
        identify(user, {"name": f"C{n}"}, timestamp=at(came)),
        track("QR Code Scanned", user, properties={"touchpoint": "poster"}, timestamp=at(came)),
    ]
    if n % 3 == 0:
        messages.append(track("Product Viewed", user, timestamp=at(62 + n % 28, 3)))
    if n % 5 == 0:
        order = {"order_id": f"o{n}", "revenue": 10 + n % 90}
        paid = at(32 + n % 58, 4)
        messages.append(track("Order Completed", user, properties=order, timestamp=paid))
    return messages


@pytest.fixture
def brand() -> tuple[int, list[int]]:
    """2,000 customers owned by one guide, in the lake; (guide id, customer ids)."""
    with unit_of_work() as session:
        guide = create_staff(session, "导购周", wecom_userid="zhou")
        source = internal_source(session, "mall")
        history = [m for n in range(CUSTOMERS) for m in customer_history(n)]
        for start in range(0, len(history), 1_000):
            ingest(session, source, history[start : start + 1_000], NOW)
        assign_owners(session, {("user_id", f"u{n}"): guide.id for n in range(CUSTOMERS)})
        ids = list(session.scalars(select(Customer.id).where(Customer.merged_into_id.is_(None))))
        guide_id = guide.id
    to_lake()
    return guide_id, ids


def to_lake() -> None:
    ship_all()
    write_snapshots()
    runner.clear_cache()


def customer_numbers() -> dict:
    """Every number that says what the customers did, as the pages and reports show them."""
    board = build_dashboard(DashboardQuery(Period(start=NOVEMBER["start"], end=NOVEMBER["end"])))
    with unit_of_work() as session:
        seen = session.execute(select(Customer.id, Customer.first_seen_at, Customer.last_seen_at))
        last_visits = {row.id: (row.first_seen_at, row.last_seen_at) for row in seen}
        # Counted here: PostgreSQL cannot group by the stage's correlated subquery.
        listed_stages = Counter(session.scalars(select(lifecycle_stage(NOW)).select_from(Customer)))
    lake_stages = {
        stage: len(segments.member_ids({"lifecycle": {"in": [stage]}}, as_of=NOW))
        for stage in STAGES
    }
    return {
        "visitors": report(gmv, period=NOVEMBER).total.current.visitors,
        "active_customers": board.kpis["active_customers"].current,
        "active_per_day": board.active,
        "last_visits": last_visits,
        "listed_lifecycle": listed_stages,
        "lake_lifecycle": lake_stages,
        "funnel": report(funnels, **FUNNEL).total.model_dump(),
        "aarrr": report(funnels, period=NOVEMBER, template="aarrr").total.model_dump(),
        "rfm": report(rfm, as_of=NOVEMBER["end"]).model_dump(),
    }


def report(module, **query):
    return runner.run(module, module.Query(**query), use_cache=False).result


def test_a_task_and_a_message_to_two_thousand_customers_move_no_customer_number(brand):
    guide_id, customer_ids = brand
    before = customer_numbers()
    # The brand has room to move them: not everyone was active in November, nobody on its last
    # day, so counting what the brand did would show.
    assert 0 < before["visitors"] < CUSTOMERS and before["active_per_day"][-1] == 0
    assert before["visitors"] == before["active_customers"]

    with unit_of_work() as session:
        task = tasks.create_task(
            session, "双十二预热", date(2026, 11, 30), "test", customer_ids=customer_ids, now=SENT
        )
        assert task.targeted == CUSTOMERS and task.unowned == 0
        sent = [
            track(
                "Message Sent", f"u{n}", properties={"guide": guide_id}, timestamp=SENT.isoformat()
            )
            for n in range(CUSTOMERS)
        ]
        ingest(session, internal_source(session, "wecom"), sent, NOW)
    to_lake()

    after = customer_numbers()
    assert after == before
    # The brand's events are in the lake, and counted where they are the subject.
    (zhou,) = report(guides, period=NOVEMBER).guides
    assert (zhou.guide_id, zhou.tasks_assigned, zhou.messages) == (guide_id, CUSTOMERS, CUSTOMERS)
    assert zhou.tasks_executed == CUSTOMERS  # each Message Sent carried out its task


def test_every_event_names_its_actor_and_unknown_ones_are_the_customers():
    assert catalogue.actor_of("QR Code Scanned") == "customer"
    assert catalogue.actor_of("Task Assigned") == "brand"
    assert catalogue.actor_of("alias", call="alias") == "system"
    assert catalogue.actor_of("Live Stream Joined") == "customer"
    assert catalogue.display_name("Message Sent", "zh-CN") == "发送消息"
    assert catalogue.display_name("Message Sent", "en") == "Message sent"
    assert all(
        kind.actor in catalogue.ACTORS and kind.zh and kind.en for kind in catalogue.CATALOGUE
    )
    assert Counter(kind.name for kind in catalogue.CATALOGUE).most_common(1)[0][1] == 1


def test_a_brand_marks_its_own_custom_events(monkeypatch):
    from siyu.core.settings import reset_settings

    monkeypatch.setenv("SIYU_BRAND_EVENTS", "Live Invite Sent, Gift Mailed")
    monkeypatch.setenv("SIYU_SYSTEM_EVENTS", "Profile Synced")
    reset_settings()
    assert catalogue.actor_of("Gift Mailed") == "brand"
    assert catalogue.actor_of("Profile Synced") == "system"
    assert {"Live Invite Sent", "Gift Mailed", "Profile Synced"} <= set(
        catalogue.not_customer_events()
    )
