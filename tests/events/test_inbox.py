"""The tracking inbox: acknowledged requests are kept until processed, processed exactly once."""

from __future__ import annotations

import os
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from siyu.app import create_app
from siyu.core.db import session_factory, utcnow
from siyu.events import dead_letters, inbox
from siyu.events.models import InboxBatch, OutboxEvent, ReceivedMessage
from siyu.events.shipper import counts
from siyu.profiles.service import customer_360
from tests.helpers import identify, post_batch, track


@pytest.fixture
def raw_client():
    """The HTTP app alone: nothing processes the inbox unless the test says so."""
    with TestClient(create_app()) as c:
        yield c


def _outbox(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count(OutboxEvent.id)))


def _inbox_rows(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count(InboxBatch.id)))


def test_an_acknowledged_request_waits_in_the_inbox_until_processed(raw_client, write_key, session):
    events = [identify("u1", {"phone": "13800138000"}), track("Product Viewed")]
    answer = post_batch(raw_client, write_key, events).json()
    assert answer["accepted"] == 2
    assert _outbox(session) == 0 and _inbox_rows(session) == 1
    assert counts(session)["received"] == 2

    assert inbox.process_all() == 2
    assert _outbox(session) == 2 and _inbox_rows(session) == 0
    assert customer_360(session, "13800138000")["identities"]


def test_a_resend_before_the_first_copy_is_processed_is_stored_once(raw_client, write_key, session):
    events = [track("Product Viewed"), track("Cart Viewed")]
    post_batch(raw_client, write_key, events)
    post_batch(raw_client, write_key, events)  # the client timed out and retried
    assert _inbox_rows(session) == 2
    inbox.process_all()
    assert _outbox(session) == 2
    assert session.scalar(select(func.count()).select_from(ReceivedMessage)) == 2
    again = post_batch(raw_client, write_key, events).json()
    assert (again["accepted"], again["duplicates"]) == (0, 2)
    assert _inbox_rows(session) == 0


def test_a_failure_while_processing_loses_nothing_and_applies_nothing_twice(
    raw_client, write_key, session, monkeypatch
):
    post_batch(raw_client, write_key, [track("A"), track("B")])
    post_batch(raw_client, write_key, [track("C")])
    real_apply = inbox.apply

    def apply_then_fail(*args, **kwargs):
        # The requests are applied, then something fails inside the same transaction.
        real_apply(*args, **kwargs)
        raise RuntimeError("disk full")

    monkeypatch.setattr(inbox, "apply", apply_then_fail)
    assert inbox.process_all() == 3  # dealt with: each kept as a dead letter
    assert _outbox(session) == 0 and _inbox_rows(session) == 0
    with session_factory()() as fresh:
        letters = dead_letters.list_dead_letters(fresh)
    assert [letter.error for letter in letters] == ["RuntimeError: disk full"] * 3

    monkeypatch.setattr(inbox, "apply", real_apply)
    assert dead_letters.replay([letter.id for letter in letters]).applied == 3
    assert _outbox(session) == 3
    assert dead_letters.replay([letter.id for letter in letters]).missing == [
        letter.id for letter in letters
    ]
    assert _outbox(session) == 3


def test_a_request_that_keeps_failing_is_kept_and_the_next_one_applied(
    raw_client, write_key, session, monkeypatch
):
    post_batch(raw_client, write_key, [track("A")])
    post_batch(raw_client, write_key, [track("B")])
    real_apply = inbox.apply

    def broken_for_a(session, source, accepted):
        if any(item.message.event == "A" for item in accepted):
            raise ValueError("a bug")
        return real_apply(session, source, accepted)

    monkeypatch.setattr(inbox, "apply", broken_for_a)
    assert inbox.process_all() == 2
    with session_factory()() as fresh:
        assert inbox.waiting(fresh) == {"requests": 0, "events": 0}
        (letter,) = dead_letters.list_dead_letters(fresh)
        assert "a bug" in letter.error and letter.kind == "track A"
    assert session.scalars(select(OutboxEvent.event)).all() == ["B"]

    monkeypatch.undo()
    assert dead_letters.replay([letter.id]).applied == 1  # `siyu inbox replay`, once fixed
    assert _outbox(session) == 2


def test_the_background_processor_applies_requests_as_they_arrive(raw_client, write_key, session):
    processor = inbox.Processor(idle_seconds=0.05)
    processor.start()
    try:
        post_batch(raw_client, write_key, [identify("u9", {"phone": "13900139000"})])
        deadline = time.monotonic() + 10
        while _outbox(session) == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        processor.stop()
        processor.join(timeout=10)
    assert _outbox(session) == 1
    assert customer_360(session, "13900139000")["traits"]["phone"] == "13900139000"


def test_a_processor_that_falls_behind_stops_giving_way_to_requests(
    raw_client, write_key, session, monkeypatch
):
    from datetime import timedelta

    from sqlalchemy import update

    monkeypatch.setattr(inbox, "DRAINING_EVENTS_PER_TRANSACTION", inbox.EVENTS_PER_TRANSACTION)
    per_request = inbox.EVENTS_PER_TRANSACTION * 2 // 3  # one request per transaction
    for n in range(3):
        post_batch(raw_client, write_key, [track(f"Late {n}") for _ in range(per_request)])
    with session_factory()() as fresh:  # these waited two minutes already
        fresh.execute(update(InboxBatch).values(received_at=utcnow() - timedelta(minutes=2)))
        fresh.commit()
    # Requests "keep arriving" all along; a processor that gave way would sleep ~1000× its work.
    processor = inbox.Processor(idle_seconds=5, busy_share=0.001, max_lag_seconds=60)
    processor.start()
    try:
        deadline = time.monotonic() + 10
        while _outbox(session) < 3 * per_request and time.monotonic() < deadline:
            inbox.note_arrival()
            time.sleep(0.01)
    finally:
        processor.stop()
        processor.join(timeout=10)
    assert _outbox(session) == 3 * per_request


@pytest.mark.skipif(
    bool(os.environ.get("SIYU_TEST_DATABASE_URL")),
    reason="SQLite's one writer: PostgreSQL has many writers and no writer lock to wait for",
)
def test_a_request_waiting_for_the_writer_makes_the_processor_give_way(write_key, monkeypatch):
    """A draining processor holds SQLite's one writer almost all the time, so few requests get
    through: too few to count as a steady stream. One that has to wait must turn it busy anyway
    (without this, a backlog kept the processor draining while the answers all but stopped)."""
    import threading

    from siyu.core.db import write_lock

    monkeypatch.setattr(inbox, "_counts", [float("-inf"), 0, 0])  # no requests arriving
    processor = inbox.Processor()
    inbox.writer_wanted.clear()
    assert not processor._busy(lagging=False)

    lock = write_lock()
    lock.acquire()  # the processor's transaction
    try:
        entered = threading.Event()

        def write() -> None:
            with inbox._writer():
                entered.set()

        request = threading.Thread(target=write)
        request.start()
        deadline = time.monotonic() + 5
        while not inbox.writer_wanted.is_set() and time.monotonic() < deadline:
            time.sleep(0.005)
        assert inbox.writer_wanted.is_set() and not entered.is_set()
    finally:
        lock.release()
    request.join(timeout=5)
    assert entered.is_set()
    assert processor._busy(lagging=False)  # gives way on its next transaction …
    assert not processor._busy(lagging=True)  # … unless it is a minute behind
    assert not processor._busy(lagging=False)  # and only until nobody waits any more
