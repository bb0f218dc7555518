"""The tracking check refuses at the edge what the processor could not apply: a 400 naming the
field, never a 200 for an event that would then stop in the inbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from siyu.events.models import OutboxEvent
from tests.helpers import post_batch, track


def _stored(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count(OutboxEvent.id)))


def _refused(response, field: str) -> str:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["field"] == field, error
    return error["message"]


def test_the_issues_far_dates_are_a_400_naming_the_field(client, write_key, session):
    body = {
        "userId": "p",
        "event": "x",
        "messageId": "m",
        "originalTimestamp": "0001-01-01T00:00:00Z",
        "sentAt": "9999-12-31T23:59:59Z",
    }
    response = client.post("/v1/track", json=body, auth=(write_key, ""))
    assert "1900-2199" in _refused(response, "originalTimestamp")
    assert _stored(session) == 0


def test_a_batch_answers_the_far_date_by_index_and_keeps_the_rest(client, write_key, session):
    far = track("Far", originalTimestamp="2026-01-01T00:00:00Z", sentAt="9999-12-31T23:59:59Z")
    answer = post_batch(client, write_key, [track("Near"), far]).json()
    assert answer["accepted"] == 1
    assert answer["rejected"] == [
        {"index": 1, "field": "sentAt", "reason": "sentAt must be in the years 1900-2199"}
    ]
    assert _stored(session) == 1


def test_times_each_in_range_whose_correction_is_not_are_refused(client, write_key, session):
    # Three centuries of "clock skew": the corrected time would be around 1726.
    body = track("Skewed", originalTimestamp="1900-01-02T00:00:00Z", sentAt="2199-12-31T00:00:00Z")
    response = client.post("/v1/track", json=body, auth=(write_key, ""))
    assert "corrected" in _refused(response, "originalTimestamp")
    assert _stored(session) == 0


def test_a_large_correction_that_stays_within_the_years_is_taken(client, write_key, session):
    # A device clock 99 years behind: the corrected time is a century ago, which can be stored.
    body = track("Old", originalTimestamp="1950-06-01T00:00:00Z", sentAt="2049-06-01T00:00:00Z")
    assert client.post("/v1/track", json=body, auth=(write_key, "")).status_code == 200
    event = session.scalars(select(OutboxEvent)).one()
    assert 1925 <= event.timestamp.year <= 1929


def test_a_batch_sent_at_outside_the_years_is_refused_whole(client, write_key, session):
    response = post_batch(client, write_key, [track("A")], sentAt="9999-12-31T23:59:59")
    _refused(response, "sentAt")
    assert _stored(session) == 0


def test_a_naive_batch_sent_at_is_the_brands_time_as_for_a_message(client, write_key, session):
    # 20:00 in Shanghai is 12:00 UTC: the device's clock is one hour behind the send.
    sent = (datetime.now(UTC) + timedelta(hours=8)).replace(tzinfo=None, microsecond=0)
    original = (sent - timedelta(hours=9)).isoformat() + "Z"
    response = post_batch(
        client, write_key, [track("Viewed", originalTimestamp=original)], sentAt=sent.isoformat()
    )
    assert response.status_code == 200, response.text
    event = session.scalars(select(OutboxEvent)).one()
    assert abs(event.received_at - timedelta(hours=1) - event.timestamp) < timedelta(seconds=5)


@pytest.mark.parametrize("revenue", ["1e30", 1e300, "92233720368547758.08"])
def test_an_amount_too_large_for_fen_is_refused(client, write_key, session, revenue):
    order = track("Order Completed", properties={"order_id": "o1", "revenue": revenue})
    response = client.post("/v1/track", json=order, auth=(write_key, ""))
    assert "larger than" in _refused(response, "properties.revenue")
    assert _stored(session) == 0


def test_the_largest_amount_fen_can_hold_is_taken(client, write_key, session):
    order = track(
        "Order Completed", properties={"order_id": "o1", "revenue": "92233720368547758.07"}
    )
    assert client.post("/v1/track", json=order, auth=(write_key, "")).status_code == 200
    assert _stored(session) == 1


def _nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def test_nesting_deeper_than_the_store_holds_is_refused(client, write_key, session):
    body = track("Deep", properties=_nested(300))
    response = client.post("/v1/track", json=body, auth=(write_key, ""))
    assert "254 levels" in _refused(response, "properties")
    assert _stored(session) == 0


def test_nesting_the_store_holds_is_taken(client, write_key, session):
    body = track("Deep", properties=_nested(253))  # 254 levels with the message itself
    assert client.post("/v1/track", json=body, auth=(write_key, "")).status_code == 200
    assert _stored(session) == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"event": "Viewed\x00"}, "event"),
        ({"properties": {"note": "a\x00b"}}, "properties.note"),
        ({"properties": {"items": [{"ok": "x"}, {"bad\x00": 1}]}}, "properties.items.1.bad\\u0000"),
    ],
)
def test_text_with_a_nul_character_is_refused(client, write_key, session, fields, field):
    body = {**track("Viewed"), **fields}
    response = client.post("/v1/track", json=body, auth=(write_key, ""))
    assert "NUL" in _refused(response, field)
    assert _stored(session) == 0


def test_an_escaped_backslash_before_u0000_is_ordinary_text(client, write_key, session):
    body = track("Viewed", properties={"path": "C:\\u0000"})
    assert client.post("/v1/track", json=body, auth=(write_key, "")).status_code == 200
    assert _stored(session) == 1


@pytest.mark.parametrize("traits", ["13800138000", ["phone"], 7])
def test_context_traits_must_be_an_object(client, write_key, session, traits):
    body = track("Viewed", user_id=None, anonymousId="null", context={"traits": traits})
    response = client.post("/v1/track", json=body, auth=(write_key, ""))
    _refused(response, "context.traits")
    body = track("Viewed", context={"traits": traits})  # identified by userId all the same
    _refused(client.post("/v1/track", json=body, auth=(write_key, "")), "context.traits")
    assert _stored(session) == 0
