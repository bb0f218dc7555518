"""The planner on examples a person can check by hand: quiet hours across daylight saving, the
fallback order, consent by channel, transactional messages, holdout and variants, re-planning."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from siyu.core.errors import InvalidInput
from siyu.customers.models import Customer, Identity
from siyu.messaging import planner
from siyu.messaging.arms import arm_bucket, arm_cuts, arm_of
from siyu.messaging.clock import opening
from siyu.messaging.models import Consent, Delivery, Suppression
from siyu.messaging.policy import Policy, Window
from siyu.staff.models import Staff

NEW_YORK = ZoneInfo("America/New_York")
QUIET = Window(time(21), time(9))


def add_customer(
    session, *, zone=None, phone=None, email=None, external=None, guide=None, consent=()
):
    row = Customer(traits={"timezone": zone} if zone else {}, owner_id=guide)
    session.add(row)
    session.flush()
    for kind, value in (("phone", phone), ("email", email), ("wecom_external_userid", external)):
        if value:
            session.add(Identity(type=kind, value=value, customer_id=row.id))
    for channel in consent:
        session.add(
            Consent(
                customer_id=row.id,
                channel=channel,
                status="subscribed",
                method="api",
                source="t",
                changed_by="t",
            )
        )
    session.flush()
    return row.id


def audience(ids):
    return select(Customer.id).where(Customer.id.in_(ids))


def test_a_window_that_wraps_midnight_opens_at_its_end_the_next_morning():
    at = datetime(2026, 12, 6, 14, 30, tzinfo=UTC)  # 22:30 in Shanghai
    assert opening(at, ZoneInfo("Asia/Shanghai"), QUIET) == datetime(2026, 12, 7, 1, tzinfo=UTC)
    assert opening(at, ZoneInfo("UTC"), QUIET) == at  # 14:30 in London time: not quiet


def test_the_opening_follows_the_recipients_clock_across_daylight_saving():
    # New York springs forward on 2026-03-08: 09:00 that morning is 13:00 UTC, not 14:00.
    at = datetime(2026, 3, 8, 4, tzinfo=UTC)  # 23:00 EST on the 7th
    assert opening(at, NEW_YORK, QUIET) == datetime(2026, 3, 8, 13, tzinfo=UTC)
    # A window ending inside the skipped hour opens when the clock jumps (03:00 EDT).
    gap = Window(time(1), time(2, 30))
    assert opening(datetime(2026, 3, 8, 6, 30, tzinfo=UTC), NEW_YORK, gap) == datetime(
        2026, 3, 8, 7, tzinfo=UTC
    )
    # Falling back on 2026-11-01, 01:00-01:59 happens twice: a window ending 01:30 opens at the
    # next 01:30 on the clock, the EST one for a time already in the second pass.
    fold = Window(time(0), time(1, 30))
    second_pass = datetime(2026, 11, 1, 6, 10, tzinfo=UTC)  # 01:10 EST
    assert opening(second_pass, NEW_YORK, fold) == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)


def test_the_fallback_order_takes_the_first_channel_that_may_be_used(session):
    guide = Staff(name="Li", wecom_userid="li", status="active")
    session.add(guide)
    session.flush()
    contact = add_customer(session, external="wm1", phone="13800000001", guide=guide.id)
    sms_only = add_customer(session, phone="13800000002", consent=["sms"])
    no_consent = add_customer(session, phone="13800000003")
    nothing = add_customer(session)
    at = datetime(2026, 12, 7, 3, tzinfo=UTC)  # 11:00 in Shanghai
    counts = planner.plan(
        session,
        audience([contact, sms_only, no_consent, nothing]),
        origin="broadcast",
        origin_id=1,
        channels=["wecom", "sms"],
        at=at,
        key_prefix="broadcast:1:",
    )
    assert counts.by_channel == {"wecom": 1, "sms": 1}
    assert counts.left_out == {"no_consent": 1, "no_channel": 1}
    rows = {d.customer_id: d for d in session.scalars(select(Delivery))}
    assert (rows[contact].channel, rows[contact].guide_id, rows[contact].address) == (
        "wecom",
        guide.id,
        "wm1",
    )
    assert (rows[sms_only].channel, rows[sms_only].send_at) == ("sms", at)
    assert rows[no_consent].reason == "no_consent" and rows[no_consent].channel == "sms"


def test_a_marketing_message_in_quiet_hours_is_deferred_and_one_over_a_cap_left_out(session):
    night = datetime(2026, 12, 6, 14, 30, tzinfo=UTC)  # 22:30 in Shanghai
    fresh = add_customer(session, email="a@x.cn", consent=["email"])
    busy = add_customer(session, email="b@x.cn", consent=["email"])
    session.add(
        Delivery(
            key="old",
            origin="test",
            customer_id=busy,
            channel="email",
            status="sent",
            send_at=datetime(2026, 12, 7, 0, 30, tzinfo=UTC),
        )
    )
    session.flush()
    preview = planner.preview(
        session,
        audience([fresh, busy]),
        origin="broadcast",
        origin_id=2,
        channels=["email"],
        at=night,
        key_prefix="broadcast:2:",
    )
    # busy was already sent one on the 7th (Shanghai), the day the deferred message would go.
    assert (preview.planned, preview.deferred, preview.left_out) == (1, 1, {"capped": 1})
    assert session.scalar(select(func.count()).select_from(Delivery)) == 1  # preview wrote nothing


def test_transactional_messages_skip_consent_caps_and_quiet_hours_but_not_a_bounce(session):
    night = datetime(2026, 12, 6, 14, 30, tzinfo=UTC)
    unsubscribed = add_customer(session, email="a@x.cn")
    bounced = add_customer(session, email="b@x.cn", consent=["email"])
    session.add(Suppression(channel="email", address="b@x.cn", reason="bounced", source="smtp"))
    session.flush()
    counts = planner.plan(
        session,
        audience([unsubscribed, bounced]),
        origin="api",
        origin_id=None,
        channels=["email"],
        purpose="transactional",
        at=night,
        key_prefix="order-shipped:",
    )
    assert (counts.planned, counts.deferred, counts.left_out) == (1, 0, {"suppressed": 1})


def test_merged_customers_are_never_planned(session):
    kept = add_customer(session, email="a@x.cn", consent=["email"])
    gone = add_customer(session, email="b@x.cn", consent=["email"])
    session.get(Customer, gone).merged_into_id = kept
    session.flush()
    counts = planner.plan(
        session,
        audience([kept, gone]),
        origin="broadcast",
        origin_id=3,
        channels=["email"],
        at=datetime(2026, 12, 7, 3, tzinfo=UTC),
        key_prefix="broadcast:3:",
    )
    assert counts.total == 1
    assert planner.recipient(session, gone, at=datetime(2026, 12, 7, tzinfo=UTC)) is None


def test_holdout_and_variants_are_drawn_by_hash_and_kept_on_replanning(session):
    ids = [add_customer(session, email=f"c{i}@x.cn", consent=["email"]) for i in range(400)]
    kwargs = dict(
        origin="broadcast",
        origin_id=4,
        channels=["email"],
        at=datetime(2026, 12, 7, 3, tzinfo=UTC),
        holdout_percent=20,
        variants=[("A", 1), ("B", 3)],
        key_prefix="broadcast:4:",
    )
    first = planner.plan(session, audience(ids), **kwargs)
    assert 50 <= first.held_out <= 110 and first.inserted == 400
    assert 50 <= first.by_variant["A"] <= 110 and 180 <= first.by_variant["B"] <= 300
    arms = dict(session.execute(select(Delivery.customer_id, Delivery.variant)).all())
    assert all(
        arms[cid] == arm_of(arm_bucket("broadcast", 4, cid), arm_cuts(20, [("A", 1), ("B", 3)]))
        for cid in ids
    )
    session.execute(Delivery.__table__.delete().where(Delivery.customer_id.in_(ids[:100])))
    again = planner.plan(session, audience(ids), **kwargs)
    assert again.inserted == 100
    assert dict(session.execute(select(Delivery.customer_id, Delivery.variant)).all()) == arms


def test_decide_answers_for_one_journey_recipient(session):
    cid = add_customer(session, zone="America/New_York", phone="13800000009", consent=["sms"])
    one = planner.recipient(session, cid, at=datetime(2026, 3, 8, 4, tzinfo=UTC))
    decision = planner.decide(
        one,
        channels=["sms"],
        purpose="marketing",
        at=datetime(2026, 3, 8, 4, tzinfo=UTC),
        policy=Policy(),
    )
    assert (decision.channel, decision.address, decision.send_at) == (
        "sms",
        "13800000009",
        datetime(2026, 3, 8, 13, tzinfo=UTC),
    )
    assert decision.is_deferred


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"channels": []}, "channels"),
        ({"channels": ["fax"]}, "channels"),
        ({"channels": ["sms", "sms"]}, "channels"),
        ({"holdout_percent": 100}, "holdout_percent"),
        ({"variants": [("A", 0)]}, "variants"),
        ({"purpose": "spam"}, "purpose"),
        ({"at": datetime(2026, 12, 7)}, "at"),
    ],
)
def test_bad_plans_are_refused_naming_the_field(session, kwargs, field):
    args = (
        dict(
            origin="broadcast",
            origin_id=5,
            channels=["sms"],
            at=datetime(2026, 12, 7, tzinfo=UTC),
            key_prefix="b:5:",
        )
        | kwargs
    )
    with pytest.raises(InvalidInput) as refused:
        planner.preview(session, audience([1]), **args)
    assert refused.value.field == field
