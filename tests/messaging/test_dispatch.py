"""The dispatcher: due deliveries checked again, handed over after a commit, their outcomes
recorded once; a crash's `sending` rows reconciled; retries, switched-off channels, rates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy import select

from siyu import work
from siyu.core import jobs
from siyu.core.db import unit_of_work, utcnow
from siyu.events.models import OutboxEvent
from siyu.messaging import dispatch, service
from siyu.messaging.models import Channel, Delivery
from siyu.messaging.sending import Outcome, Outgoing
from tests.messaging.factories import customer, delivery


class Recorder:
    """A sender that records what it was given and answers as told."""

    def __init__(self, channel: str = "email", status: str = "sent", **answer):
        self.channel, self.status, self.answer = channel, status, answer
        self.sent: list[Outgoing] = []
        self.asked: list[Outgoing] = []
        self.known: str | None = None  # what reconcile answers (None: cannot tell)

    def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        self.sent.extend(batch)
        return [
            Outcome(o.delivery_id, self.status, provider_id=f"p-{o.delivery_id}", **self.answer)
            for o in batch
        ]

    def reconcile(self, batch: Sequence[Outgoing]) -> list[Outcome | None]:
        self.asked.extend(batch)
        if self.known is None:
            return [None for _ in batch]
        return [Outcome(o.delivery_id, self.known) for o in batch]  # type: ignore[arg-type]


def _events(session, name: str) -> list[OutboxEvent]:
    return list(session.scalars(select(OutboxEvent).where(OutboxEvent.event == name)))


def _subscribed(session, cid: int, channel: str = "email") -> None:
    service.set_consent(session, cid, channel, "subscribed", method="api", source="t", actor="t")


@pytest.fixture
def due(session):
    cid = customer(session, "c1", email="a@example.com")
    _subscribed(session, cid)
    row = delivery(session, cid, address="a@example.com", send_at=utcnow() - timedelta(seconds=1))
    session.commit()
    return row


def test_a_due_delivery_is_sent_and_recorded_once(session, due):
    sender = Recorder()
    assert dispatch.dispatch_channel(session, "email", sender) == 1
    session.expire_all()
    assert [o.delivery_id for o in sender.sent] == [due.id]
    assert sender.sent[0].key == due.key and sender.sent[0].address == "a@example.com"
    assert (due.status, due.provider_id, due.attempts) == ("sent", f"p-{due.id}", 1)
    assert due.sent_at is not None
    dispatch.record_outcomes(session, [Outcome(due.id, "sent")])  # told again
    session.commit()
    (event,) = _events(session, "Message Sent")
    assert event.message_id == f"msg-sent-{due.id}" and event.source == "messaging"
    assert dispatch.dispatch_channel(session, "email", sender) == 0


def test_delivered_after_sent_writes_delivered_once(session, due):
    dispatch.dispatch_channel(session, "email", Recorder(status="pending"))
    assert not _events(session, "Message Sent")
    for _ in range(2):
        dispatch.record_outcomes(session, [Outcome(due.id, "delivered")])
    dispatch.record_outcomes(session, [Outcome(due.id, "sent")])  # late: never moves it back
    session.commit()
    session.expire_all()
    assert due.status == "delivered" and due.delivered_at is not None
    assert len(_events(session, "Message Sent")) == len(_events(session, "Message Delivered")) == 1


def test_an_unsubscribe_after_planning_stops_the_message(session, due):
    service.set_consent(
        session, due.customer_id, "email", "unsubscribed", method="one_click", source="m", actor="c"
    )
    session.commit()
    # planned after the unsubscribe (e.g. by a planner that read consent earlier)
    late = delivery(session, due.customer_id, key="late", address="a@example.com")
    session.commit()
    sender = Recorder()
    dispatch.dispatch_channel(session, "email", sender)
    session.expire_all()
    assert sender.sent == []
    assert (late.status, late.reason) == ("cancelled", "unsubscribed")


def test_consent_suppression_and_purpose_decide_at_send_time(session):
    cid = customer(session, "c1", email="a@example.com", wecom_external_userid="wm1")
    no_consent = delivery(session, cid, key="m", address="a@example.com")
    receipt = delivery(session, cid, key="t", address="a@example.com", purpose="transactional")
    wecom = delivery(session, cid, "wecom", key="w", address="wm1")
    session.commit()
    email, chat = Recorder(), Recorder("wecom")
    dispatch.dispatch_channel(session, "email", email)
    dispatch.dispatch_channel(session, "wecom", chat)
    session.expire_all()
    assert (no_consent.status, no_consent.reason) == ("cancelled", "no_consent")
    assert receipt.status == "sent" and wecom.status == "sent"  # WeCom: reachable by default
    service.suppress(session, "email", "a@example.com", "bounced", source="550")
    after = delivery(session, cid, key="t2", address="a@example.com", purpose="transactional")
    session.commit()
    assert after.status == "planned"
    session.expire_all()
    dispatch.dispatch_channel(session, "email", email)
    session.expire_all()
    assert len(email.sent) == 1


def test_a_retryable_failure_is_tried_again_then_given_up(session, due):
    sender = Recorder(status="failed", error="421 busy", retry=True)
    dispatch.dispatch_channel(session, "email", sender)
    session.expire_all()
    assert due.status == "planned" and due.send_at > utcnow() and due.error == "421 busy"
    for _ in range(dispatch.MAX_ATTEMPTS - 1):
        with unit_of_work() as s:
            s.get(Delivery, due.id).send_at = utcnow() - timedelta(seconds=1)
        dispatch.dispatch_channel(session, "email", sender)
    session.expire_all()
    assert (due.status, due.attempts) == ("failed", dispatch.MAX_ATTEMPTS)
    (failed,) = _events(session, "Message Failed")
    assert "421 busy" in failed.properties
    assert len(sender.sent) == dispatch.MAX_ATTEMPTS


def test_a_bounce_reason_is_kept(session, due):
    dispatch.dispatch_channel(session, "email", Recorder(status="failed", error="bounced: 550"))
    session.expire_all()
    assert (due.status, due.reason) == ("failed", "bounced")


def test_a_crash_after_the_hand_over_is_reconciled(session, due, monkeypatch):
    class Crashing(Recorder):
        def send(self, batch):
            raise ConnectionError("the process died here")

    dispatch.dispatch_channel(session, "email", Crashing())
    session.expire_all()
    assert due.status == "sending"
    sender = Recorder()
    assert dispatch.reconcile_stale(session, {"email": sender}) == 0  # within its lease
    monkeypatch.setenv("SIYU_SENDING_LEASE_SECONDS", "0.001")
    from siyu.core.settings import reset_settings

    reset_settings()
    assert dispatch.reconcile_stale(session, {"email": sender}) == 1
    session.expire_all()
    assert [o.delivery_id for o in sender.asked] == [due.id]
    assert [o.key for o in sender.sent] == [due.key]  # sent again with the same key
    assert (due.status, due.attempts) == ("sent", 2)
    assert len(_events(session, "Message Sent")) == 1


def test_a_reconciled_outcome_is_not_sent_again(session, due, monkeypatch):
    _, _ = due, dispatch.dispatch_channel(session, "email", _Raising())
    monkeypatch.setenv("SIYU_SENDING_LEASE_SECONDS", "0.001")
    from siyu.core.settings import reset_settings

    reset_settings()
    sender = Recorder()
    sender.known = "delivered"
    dispatch.reconcile_stale(session, {"email": sender})
    session.expire_all()
    assert sender.sent == [] and due.status == "delivered" and due.attempts == 1


class _Raising(Recorder):
    def send(self, batch):
        raise TimeoutError


def test_a_switched_off_channel_leaves_its_messages_out(session, due):
    session.add(Channel(channel="email", mode="off"))
    session.commit()
    assert "email" not in dispatch.senders(session)
    dispatch.dispatch_channel(session, "email", None)
    session.expire_all()
    assert (due.status, due.reason) == ("left_out", "no_channel")


def test_a_channel_rate_holds_the_rest_back(session):
    cid = customer(session, "c1", wecom_external_userid="wm1")
    for n in range(5):
        delivery(session, cid, "wecom", key=f"k{n}", address="wm1")
    session.commit()
    sender = Recorder("wecom")
    dispatch.dispatch_channel(session, "wecom", sender, {"per_minute": 3})
    dispatch.dispatch_channel(session, "wecom", sender, {"per_minute": 3})
    assert len(sender.sent) == 3


def test_console_is_the_default_and_a_missing_live_sender_says_what_to_set(session, monkeypatch):
    assert {s.channel for s in dispatch.senders(session).values()} == set(dispatch.CHANNELS)
    session.add(Channel(channel="wecom", mode="live"))
    session.commit()
    monkeypatch.setitem(dispatch.LIVE, "wecom", ("siyu.messaging.channels.nowhere", "X"))
    sender = dispatch.senders(session)["wecom"]
    (outcome,) = sender.send([Outgoing(1, "k", "wecom", 1, "wm1", "marketing", {"text": "hi"})])
    assert outcome.status == "failed" and "SIYU_WECOM_CORP_ID" in (outcome.error or "")


def test_the_job_sends_what_is_due(session, due):
    with unit_of_work() as s:
        service.request_dispatch(s)
    assert dispatch.KIND in work.HANDLERS
    assert any(schedule.kind == dispatch.KIND for schedule in work.SCHEDULES)
    while work.run_one():
        pass
    session.expire_all()
    assert due.status == "sent"  # the console sender, the default
    assert session.scalars(select(jobs.Job).where(jobs.Job.status != "done")).all() == []


def test_a_run_that_leaves_rows_sending_books_one_for_when_their_lease_ends(session, due):
    dispatch.dispatch_channel(session, "email", _Raising())
    session.expire_all()
    handed_over = due.send_at
    with unit_of_work() as s:
        dispatch.dispatch_due(s, {})
    booked = session.scalars(select(jobs.Job).where(jobs.Job.kind == dispatch.KIND)).all()
    lease = timedelta(seconds=300)
    assert [job.run_at > handed_over + lease for job in booked] == [True]
