"""The demo brand reaches its customers: channels in console mode, consent, a year's broadcasts
sent at their times through the real services, and messages counted as touches."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from typer.testing import CliRunner

from siyu.analytics import message_results, runner
from siyu.broadcasts.models import Broadcast
from siyu.cli import app
from siyu.core.jobs import Job
from siyu.demo import journeys as demo_journeys
from siyu.demo import reach, service
from siyu.demo.stream import Plan
from siyu.events.models import OutboxEvent
from siyu.journeys import service as journeys
from siyu.journeys.models import JourneyEntry
from siyu.messaging.models import Channel, Consent, Delivery, GroupSend
from siyu.touchpoints.models import Touchpoint

ZONE = ZoneInfo("Asia/Shanghai")
PLAN = Plan(end_date=date(2025, 11, 30), customers=300, days=60, seed=7, zone=ZONE)
NOW = datetime(2025, 12, 1, 12, tzinfo=UTC)


def test_the_demo_brand_reaches_its_customers_and_messages_are_touches(session):
    built = service.build(PLAN, NOW)

    channels = {row.channel: row for row in session.scalars(select(Channel))}
    assert set(channels) == set(reach.CHANNELS)
    assert {row.mode for row in channels.values()} == {"console"}
    assert channels["sms"].config["sign_name"] == "山茶" and channels["sms"].provider == "aliyun"
    statuses = dict(
        session.execute(select(Consent.status, func.count()).group_by(Consent.status)).all()
    )
    assert statuses["subscribed"] > statuses.get("unsubscribed", 0) > 0

    sends = reach.schedule(PLAN, PLAN.timeline(NOW))
    found = session.scalars(select(Broadcast).order_by(Broadcast.id)).all()
    assert len(found) == len(sends) == 3
    for broadcast in found:  # sent once nothing of it waits (a guide's share not yet confirmed)
        waiting = session.scalar(
            select(func.count()).where(
                Delivery.origin == "broadcast",
                Delivery.origin_id == broadcast.id,
                Delivery.status.in_(("planned", "sending", "pending")),
            )
        )
        assert broadcast.status == ("sending" if waiting else "sent")
    assert found[0].status == "sent" and found[0].finished_at < NOW
    shares = dict(
        session.execute(select(GroupSend.status, func.count()).group_by(GroupSend.status)).all()
    )
    assert shares["sent"] > 0  # the guides confirmed their 群发 on their page
    assert found[0].audience == "list" and found[-1].audience == "segment"
    for broadcast, send in zip(found, sends, strict=True):
        assert broadcast.planned_at == send.at and broadcast.channels == ["wecom", "sms"]
    by_status = dict(
        session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
    )
    assert by_status["sent"] > 0 and by_status["delivered"] > 0 and by_status["held_out"] > 0
    sent_times = session.scalars(select(Delivery.sent_at).where(Delivery.sent_at.is_not(None)))
    assert all(at < NOW for at in sent_times)  # sent at their historical times

    touches = dict(
        session.execute(
            select(OutboxEvent.touchpoint, func.count())
            .where(OutboxEvent.event == "Message Sent", OutboxEvent.source == "messaging")
            .group_by(OutboxEvent.touchpoint)
        ).all()
    )
    assert set(touches) <= {"message-wecom", "message-sms"} and sum(touches.values()) > 0
    registered = session.scalars(select(Touchpoint).where(Touchpoint.code.in_(touches))).all()
    assert {t.code for t in registered} == set(touches)
    assert all(t.is_registered and t.entry_type == "owned" for t in registered)
    assert built.summary.events == session.scalar(select(func.count()).select_from(OutboxEvent))
    assert built.summary.lake_events == built.summary.events

    cli = CliRunner()
    listed = cli.invoke(app, ["broadcasts", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    shown = cli.invoke(app, ["broadcasts", "show", str(found[0].id), "--json"])
    assert shown.exit_code == 0, shown.output
    details = json.loads(shown.output)
    assert details["status"] == "sent" and details["sent"] > 0
    credit = cli.invoke(
        app,
        [
            "report",
            "attribution",
            "--model",
            "linear",
            "--start",
            "2025-10-01",
            "--end",
            "2025-11-30",
        ]
        + ["--json"],
    )
    assert credit.exit_code == 0, credit.output
    credited = {row["touchpoint"] for row in json.loads(credit.output)["touchpoints"]}
    assert credited & {"message-wecom", "message-sms"}

    query = message_results.Query(
        origin="broadcast",
        origin_id=found[0].id,
        period={"start": sends[0].at.date(), "end": sends[0].at.date()},
    )
    arms = runner.run(message_results, query, use_cache=False).result.arms
    assert {arm.arm for arm in arms} >= {"A", "holdout"}
    assert sum(arm.sent for arm in arms) == details["sent"]

    running = {o.journey.key: o.journey.status for o in journeys.list_journeys(session)}
    assert running == {"new-contact": "active", "win-back": "active"}
    shown = journeys.show(session, "new-contact")
    published = shown["versions"][0]["published_at"]
    assert published == PLAN.timeline(NOW).cutoff - demo_journeys.PUBLISHED_BEFORE
    # Customers at different steps: past the day-0 welcome and waiting, and finished.
    places = demo_journeys.entries_by_step(session)["new-contact"]
    assert places.get("completed", 0) > 0
    assert len(set(places) - {"completed", "exited"}) >= 2
    assert shown["steps"]["welcome"]["done"] == sum(shown["entries"].values())
    entered = session.scalars(select(JourneyEntry.entered_at)).all()
    cutoff = PLAN.timeline(NOW).cutoff
    assert entered and all(published <= at <= cutoff for at in entered)
    sent = session.scalars(
        select(Delivery.sent_at).where(Delivery.origin == "journey", Delivery.status == "sent")
    ).all()
    assert sent and all(published < at < NOW for at in sent)  # sent at their times
    due = session.scalars(select(Job.run_at).where(Job.kind == "journeys.step")).all()
    assert any(at > cutoff for at in due)  # the next days' steps wait for the worker
