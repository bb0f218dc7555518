"""Broadcasts: written with every field checked, an audience read as one query, cancelled."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from siyu import work
from siyu.broadcasts import service as broadcasts
from siyu.broadcasts.models import Broadcast
from siyu.cli import app
from siyu.core.db import unit_of_work
from siyu.core.errors import Conflict, InvalidInput, NotFound
from siyu.core.i18n import translations
from siyu.core.jobs import Job
from siyu.customers.service import find_customer
from siyu.events.models import OutboxEvent
from siyu.events.service import ingest
from siyu.events.sources import internal_source
from siyu.messaging import dispatch
from siyu.messaging.models import Delivery, MessageContent
from siyu.messaging.sending import Outcome
from siyu.messaging.service import set_consent
from siyu.segments.models import SegmentMember
from siyu.segments.service import create_segment
from siyu.tags.service import ensure_tag, tag_customer
from tests.helpers import identify

runner = CliRunner()
MONDAY = datetime(2026, 11, 30, 2, tzinfo=UTC)
A = broadcasts.VariantSpec(text="{{ name }}，双十二会员日，全场满 300 减 50")


def people() -> list[int]:
    """Five customers: 1-3 tagged 金卡, 2 and 4 tagged 沉睡, all five in segment `vip`."""
    with unit_of_work() as s:
        ingest(s, internal_source(s, "mall"), [identify(f"c{n}") for n in range(1, 6)], MONDAY)
        ids = [find_customer(s, f"c{n}").id for n in range(1, 6)]
        gold, asleep = ensure_tag(s, "金卡").id, ensure_tag(s, "沉睡").id
        for n in (0, 1, 2):
            tag_customer(s, ids[n], gold, actor="test")
        for n in (1, 3):
            tag_customer(s, ids[n], asleep, actor="test")
        segment = create_segment(s, "vip", "VIP", {"tag": "金卡"})
        s.add_all(
            SegmentMember(segment_id=segment.id, customer_id=c, entered_at=MONDAY) for c in ids
        )
        segment.refreshed_at = MONDAY
        return ids


def _audience(**target) -> list[int]:
    with unit_of_work() as s:
        broadcast = broadcasts.create(
            s, name="双十二", actor="test", channels=["sms"], variants=[A], **target
        )
        return sorted(s.scalars(broadcasts.audience(s, broadcast)))


def test_an_audience_is_a_segment_a_tag_filter_or_a_list():
    ids = people()
    assert _audience(segment_key="vip") == ids
    assert _audience(tag_filter={"any": ["金卡"]}) == ids[:3]
    assert _audience(tag_filter={"all": ["金卡", "沉睡"]}) == [ids[1]]
    assert _audience(tag_filter={"any": ["金卡", "沉睡"], "none": ["沉睡"]}) == [ids[0], ids[2]]
    assert _audience(customer_ids=[ids[4], ids[0]]) == [ids[0], ids[4]]


def test_each_variant_keeps_its_text_once_per_channel():
    people()
    with unit_of_work() as s:
        broadcast = broadcasts.create(
            s,
            name="A/B",
            actor="test",
            channels=["wecom", "sms"],
            segment_key="vip",
            holdout_percent=10,
            variants=[
                broadcasts.VariantSpec(key="A", weight=3, text="满 300 减 50"),
                broadcasts.VariantSpec(
                    key="B", text="满 200 减 30", by_channel={"sms": {"text": "短信：满 200 减 30"}}
                ),
            ],
        )
        variants = broadcasts.variants_of(s, broadcast)
        texts = {
            (v.key, channel): s.get(MessageContent, content).text
            for v in variants
            for channel, content in v.contents.items()
        }
    assert [(v.key, v.weight) for v in variants] == [("A", 3), ("B", 1)]
    assert texts == {
        ("A", "wecom"): "满 300 减 50",
        ("A", "sms"): "满 300 减 50",
        ("B", "wecom"): "满 200 减 30",
        ("B", "sms"): "短信：满 200 减 30",
    }


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": " "}, "name"),
        ({"channels": ["fax"]}, "channel"),
        ({"channels": []}, "channel"),
        ({"channels": ["sms", "sms"]}, "channel"),
        ({"holdout_percent": 60}, "holdout"),
        ({"purpose": "spam"}, "purpose"),
        ({"variants": []}, "variants"),
        ({"variants": [broadcasts.VariantSpec(text="")]}, "variants.0.text"),
        ({"variants": [broadcasts.VariantSpec(text="{{ name ")]}, "variants.0.text"),
        ({"variants": [A, A]}, "variants"),
        ({"segment_key": None, "tag_filter": {"any": ["没有这个标签"]}}, "tags"),
        ({"segment_key": None, "tag_filter": {"none": ["金卡"]}}, "tags"),
        ({"tag_filter": {"any": ["金卡"]}}, "audience"),
    ],
)
def test_a_bad_field_is_named_and_nothing_is_written(fields, field):
    people()
    given = {"name": "双十二", "channels": ["sms"], "variants": [A], "segment_key": "vip"}
    with pytest.raises(InvalidInput) as raised, unit_of_work() as s:
        broadcasts.create(s, actor="test", **{**given, **fields})
    assert raised.value.field == field
    with unit_of_work() as s:
        assert broadcasts.list_broadcasts(s) == []
        assert s.scalars(select(MessageContent)).all() == []


def test_an_unknown_segment_is_not_found():
    people()
    with pytest.raises(NotFound), unit_of_work() as s:
        broadcasts.create(
            s, name="x", actor="test", channels=["sms"], variants=[A], segment_key="nobody"
        )


def _deliveries(session, broadcast, ids: list[int], channel: str, statuses: tuple[str, ...]):
    """One delivery of the broadcast per status, to ids[0], ids[1], … in turn; the ones left out
    for want of consent."""
    for customer_id, status in zip(ids, statuses, strict=False):
        session.add(
            Delivery(
                key=f"broadcast:{broadcast.id}:{customer_id}",
                origin="broadcast",
                origin_id=broadcast.id,
                customer_id=customer_id,
                channel=channel,
                status=status,
                reason="no_consent" if status == "left_out" else None,
            )
        )


def test_cancelling_stops_what_is_not_yet_handed_over():
    ids = people()
    with unit_of_work() as s:
        broadcast = broadcasts.create(
            s, name="x", actor="test", channels=["sms"], variants=[A], segment_key="vip"
        )
        _deliveries(s, broadcast, ids, "sms", ("planned", "planned", "sent", "left_out"))
        s.flush()
        assert broadcasts.cancel(s, broadcast) == 2
        counts = broadcasts.counts(s, broadcast)
        assert (counts["sent"], counts["cancelled"], counts["left_out"]) == (
            1,
            2,
            {"no_consent": 1},
        )
        with pytest.raises(Conflict) as again:
            broadcasts.cancel(s, broadcast)
        with pytest.raises(Conflict) as resend:
            broadcasts.schedule(s, broadcast, None)
    # Each refusal is one whole sentence per status, so zh-CN reads no English status word.
    assert (again.value.field, again.value.params) == ("status", {})
    assert translations("zh-CN").gettext(again.value.template) == "这条群发已经取消"
    assert translations("zh-CN").gettext(resend.value.template) == "这条群发已取消：不能再次发送"


def test_the_cli_prints_the_new_id_last_and_shows_it_as_json():
    people()
    made = runner.invoke(
        app,
        [
            "broadcasts",
            "create",
            "--name",
            "会员日",
            "--segment",
            "vip",
            "--channel",
            "sms",
            "--body",
            "{{ name }} 您好",
            "--holdout",
            "10",
        ],
    )
    assert made.exit_code == 0, made.output
    new_id = made.output.strip().splitlines()[-1]
    shown = runner.invoke(app, ["broadcasts", "show", new_id, "--json"])
    assert shown.exit_code == 0, shown.output
    import json

    row = json.loads(shown.output)
    assert (row["status"], row["planned"], row["sent"], row["failed"], row["left_out"]) == (
        "draft",
        0,
        0,
        0,
        {},
    )
    bad = runner.invoke(
        app,
        [
            "broadcasts",
            "create",
            "--name",
            "x",
            "--segment",
            "vip",
            "--channel",
            "fax",
            "--body",
            "hi",
        ],
    )
    assert bad.exit_code != 0 and "channel" in bad.output


def subscribed_people() -> list[int]:
    """Six customers with phones in segment `vip`; SMS consent for the first four; the fifth
    unsubscribed; the sixth never asked."""
    with unit_of_work() as s:
        ingest(
            s,
            internal_source(s, "mall"),
            [identify(f"p{n}", {"phone": f"1380000000{n}"}) for n in range(1, 7)],
            MONDAY,
        )
        ids = [find_customer(s, f"p{n}").id for n in range(1, 7)]
        for n, status in enumerate(("subscribed",) * 4 + ("unsubscribed",)):
            set_consent(s, ids[n], "sms", status, method="import", source="门店登记", actor="test")
        segment = create_segment(s, "vip", "VIP", {"tag": "金卡"})
        s.add_all(
            SegmentMember(segment_id=segment.id, customer_id=c, entered_at=MONDAY) for c in ids
        )
        segment.refreshed_at = MONDAY
        return ids


NOON = datetime(2026, 12, 1, 4, tzinfo=UTC)  # 12:00 in Shanghai: outside quiet hours


def test_sending_plans_each_customer_once_and_says_who_is_left_out_and_why():
    ids = subscribed_people()
    with unit_of_work() as s:
        broadcast = broadcasts.create(
            s, name="会员日", actor="test", channels=["sms"], variants=[A], segment_key="vip"
        )
        preview = broadcasts.preview(s, broadcast, NOON)
        assert (preview["total"], preview["planned"]) == (6, 4)
        assert preview["left_out"] == {"no_consent": 2}
        assert s.scalars(select(Delivery)).all() == []  # a preview writes nothing
        broadcasts.schedule(s, broadcast, None, now=NOON)
        broadcasts.plan_now(s, broadcast, NOON)
        again = broadcasts.plan_now(s, broadcast, NOON)  # a retried job plans no one twice
        counts = broadcasts.counts(s, broadcast)
        planned = s.scalars(select(Delivery).where(Delivery.status == "planned")).all()
        contents = {d.content_id for d in planned}
    assert again["inserted"] == 0
    assert (counts["planned"], counts["left_out"], broadcast.status) == (
        4,
        {"no_consent": 2},
        "sending",
    )
    assert sorted(d.customer_id for d in planned) == ids[:4]
    assert len(contents) == 1 and None not in contents


def test_a_preview_at_night_defers_rather_than_drops():
    subscribed_people()
    night = datetime(2026, 12, 1, 14, 30, tzinfo=UTC)  # 22:30 in Shanghai
    with unit_of_work() as s:
        broadcast = broadcasts.create(
            s, name="夜", actor="test", channels=["sms"], variants=[A], segment_key="vip"
        )
        preview = broadcasts.preview(s, broadcast, night)
    assert (preview["planned"], preview["deferred"]) == (4, 4)


def test_a_holdout_is_kept_from_the_message_and_planned_as_its_own_arm():
    subscribed_people()
    with unit_of_work() as s:
        broadcast = broadcasts.create(
            s,
            name="留出",
            actor="test",
            channels=["sms"],
            variants=[A],
            segment_key="vip",
            holdout_percent=50,
        )
        broadcasts.schedule(s, broadcast, None, now=NOON)
        broadcasts.plan_now(s, broadcast, NOON)
        counts = broadcasts.counts(s, broadcast)
        planned_events = s.scalars(
            select(OutboxEvent).where(OutboxEvent.event == "Message Planned")
        ).all()
    arms = sorted(orjson.loads(e.properties)["variant"] for e in planned_events)
    assert counts["planned"] + counts["held_out"] == 4
    assert arms.count("holdout") == counts["held_out"]
    assert arms.count("A") == counts["planned"]


def test_a_scheduled_broadcast_is_planned_by_its_job_once_its_time_comes():
    subscribed_people()
    later = datetime(2026, 12, 2, 4, tzinfo=UTC)
    with unit_of_work() as s:
        broadcast = broadcasts.create(
            s, name="明天", actor="test", channels=["sms"], variants=[A], segment_key="vip"
        )
        broadcasts.schedule(s, broadcast, later, now=NOON)
        job = s.scalars(select(Job).where(Job.kind == broadcasts.SEND_KIND)).one()
        assert (job.run_at, broadcast.status) == (later, "scheduled")
        broadcasts.run_send(s, {"id": broadcast.id})
        assert broadcasts.counts(s, broadcast)["planned"] == 4
        broadcasts.run_send(s, {"id": broadcast.id})  # planned already: nothing more
        assert broadcasts.counts(s, broadcast)["planned"] == 4


def test_a_broadcast_is_sent_by_itself_once_nothing_of_it_waits():
    ids = people()
    with unit_of_work() as s:
        broadcast = broadcasts.create(
            s, name="x", actor="test", channels=["wecom"], variants=[A], segment_key="vip"
        )
        broadcast.status = "sending"
        statuses = ("pending", "sent", "failed", "left_out", "held_out")
        _deliveries(s, broadcast, ids, "wecom", statuses)
        broadcast_id = broadcast.id
    (schedule,) = [x for x in work.SCHEDULES if x.kind == broadcasts.FINISH_KIND]
    finish = work.HANDLERS[schedule.kind]

    with unit_of_work() as s:
        finish(s, {})  # a guide has not confirmed yet: still sending
        assert s.get_one(Broadcast, broadcast_id).status == "sending"
        waiting = s.scalars(select(Delivery).where(Delivery.status == "pending")).one()
        dispatch.record_outcomes(s, [Outcome(waiting.id, "sent")])
    with unit_of_work() as s:
        finish(s, {})
        done = s.get_one(Broadcast, broadcast_id)
        assert (done.status, done.finished_at is not None) == ("sent", True)
