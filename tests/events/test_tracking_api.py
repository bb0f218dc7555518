"""The tracking API as a client library sees it: auth, limits, dedup, clock skew, batches."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from siyu.events.models import OutboxEvent
from siyu.profiles.service import customer_360
from siyu.touchpoints.models import Touchpoint
from tests.helpers import identify, post_batch, track


def _stored(session) -> int:
    return session.scalar(select(func.count(OutboxEvent.id)))


def test_every_call_type_is_accepted_with_a_write_key(client, write_key, session):
    calls = {
        "identify": {"userId": "u1", "traits": {"name": "李雷"}},
        "track": {"userId": "u1", "event": "Product Viewed"},
        "page": {"userId": "u1", "name": "Home"},
        "screen": {"anonymousId": "a1", "name": "Cart"},
        "group": {"userId": "u1", "groupId": "vip-group-1"},
        "alias": {"userId": "u1", "previousId": "a1"},
    }
    for kind, body in calls.items():
        response = client.post(f"/v1/{kind}", json=body, auth=(write_key, ""))
        assert response.status_code == 200, (kind, response.text)
        assert response.json()["success"] is True
    types = set(session.scalars(select(OutboxEvent.type)))
    assert types == set(calls)


def test_missing_or_unknown_write_key_is_refused(client, write_key, session):
    assert client.post("/v1/track", json=track("X")).status_code == 401
    assert client.post("/v1/track", json=track("X"), auth=("wk_nope", "")).status_code == 401
    assert _stored(session) == 0


def test_write_key_in_the_body_is_accepted(client, write_key):
    response = client.post("/v1/track", json={**track("X"), "writeKey": write_key})
    assert response.status_code == 200


def test_gzip_body_is_accepted(client, write_key, session):
    body = gzip.compress(json.dumps({"batch": [track("Product Viewed")]}).encode())
    response = client.post(
        "/v1/batch",
        content=body,
        auth=(write_key, ""),
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert response.status_code == 200
    assert _stored(session) == 1


def test_body_that_is_not_json_is_rejected_whole(client, write_key, session):
    response = client.post("/v1/batch", content=b"{not json", auth=(write_key, ""))
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "body"
    assert "not JSON" in response.json()["error"]["message"]
    assert _stored(session) == 0


def test_request_over_500kb_is_rejected_whole(client, write_key, session):
    events = [track("Big", properties={"pad": "x" * 20_000}) for _ in range(30)]
    response = post_batch(client, write_key, events)
    assert response.status_code == 413
    assert "500 KB" in response.json()["error"]["message"]
    assert _stored(session) == 0


def test_gzip_bomb_is_rejected_by_its_inflated_size(client, write_key, session):
    events = [track("Big", properties={"pad": "a" * 30_000}) for _ in range(40)]
    body = gzip.compress(json.dumps({"batch": events}).encode())
    assert len(body) < 500 * 1024
    response = client.post(
        "/v1/batch", content=body, auth=(write_key, ""), headers={"Content-Encoding": "gzip"}
    )
    assert response.status_code == 413
    assert _stored(session) == 0


def test_event_over_32kb_is_rejected_by_index_and_the_rest_stored(client, write_key, session):
    events = [track("Ok"), track("Huge", properties={"pad": "x" * 33_000}), track("Ok too")]
    body = post_batch(client, write_key, events).json()
    assert body["accepted"] == 2
    assert body["rejected"] == [
        {"index": 1, "field": None, "reason": "the event is larger than 32 KB"}
    ]
    assert _stored(session) == 2


def test_invalid_events_in_a_batch_are_named_by_index_and_field(client, write_key, session):
    events = [
        track("Ok"),
        {"type": "track", "userId": "u1", "messageId": "no-event"},
        {"type": "track", "event": "Anon", "messageId": "no-ids"},
        {"type": "teleport", "userId": "u1"},
        track("Order Completed", properties={"revenue": "10"}),
        track("Bad time", timestamp="yesterday-ish"),
        {"type": "identify", "userId": "null", "messageId": "blocked"},
    ]
    body = post_batch(client, write_key, events).json()
    rejected = {r["index"]: r["field"] for r in body["rejected"]}
    assert body["accepted"] == 1
    assert rejected == {
        1: "event",
        2: "userId",
        3: "type",
        4: "properties.order_id",
        5: "timestamp",
        6: "userId",
    }
    assert _stored(session) == 1


def test_a_batch_with_nothing_valid_answers_400(client, write_key):
    response = post_batch(client, write_key, [{"type": "track"}])
    assert response.status_code == 400
    assert response.json()["rejected"][0]["index"] == 0


def test_invalid_single_call_answers_400_with_the_field(client, write_key, session):
    response = client.post("/v1/track", json={"userId": "u1"}, auth=(write_key, ""))
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "event"
    assert _stored(session) == 0


def test_replayed_batch_stores_nothing_new_and_still_succeeds(client, write_key, session):
    events = [
        identify("u1", {"phone": "13800138000"}),
        track("Product Viewed"),
        track("Order Completed", properties={"order_id": "o-1", "revenue": "59.00"}),
    ]
    first = post_batch(client, write_key, events).json()
    again = post_batch(client, write_key, events)
    assert again.status_code == 200
    assert first["accepted"] == 3
    assert again.json()["accepted"] == 0 and again.json()["duplicates"] == 3
    assert _stored(session) == 3
    assert customer_360(session, "u1")["order_summary"]["net_fen"] == 5900


def test_duplicate_inside_one_batch_is_stored_once(client, write_key, session):
    event = track("Product Viewed")
    body = post_batch(client, write_key, [event, event]).json()
    assert (body["accepted"], body["duplicates"]) == (1, 1)


def test_same_message_id_from_two_sources_is_two_events(client, write_key, session):
    from siyu.core.db import unit_of_work
    from siyu.events.sources import create_key

    with unit_of_work() as s:
        _, pos_key = create_key(s, "pos")
    event = track("Product Viewed")
    post_batch(client, write_key, [event])
    post_batch(client, pos_key, [event])
    assert _stored(session) == 2


def test_message_without_id_is_deduplicated_by_content(client, write_key, session):
    event = {"type": "track", "userId": "u1", "event": "Tap", "timestamp": "2026-11-01T10:00:00Z"}
    post_batch(client, write_key, [event], sentAt="2026-11-01T10:00:01Z")
    post_batch(client, write_key, [event], sentAt="2026-11-01T10:05:00Z")
    assert _stored(session) == 1


def test_clock_skew_is_corrected_from_sent_at(client, write_key, session):
    # The device clock is 2 hours fast: it says the event happened 10 s before sending.
    device_now = datetime.now(UTC) + timedelta(hours=2)
    event = track("Product Viewed", timestamp=(device_now - timedelta(seconds=10)).isoformat())
    before = datetime.now(UTC)
    post_batch(client, write_key, [event], sentAt=device_now.isoformat())
    row = session.scalar(select(OutboxEvent))
    assert before - timedelta(seconds=12) < row.timestamp < datetime.now(UTC) - timedelta(seconds=8)
    assert row.backfill is False


def test_historical_timestamp_is_kept_and_flagged_backfill(client, write_key, session):
    post_batch(
        client,
        write_key,
        [
            track(
                "Order Completed",
                timestamp="2024-06-18T12:00:00+08:00",
                properties={"order_id": "old", "revenue": 10},
            )
        ],
    )
    row = session.scalar(select(OutboxEvent))
    assert row.timestamp == datetime(2024, 6, 18, 4, tzinfo=UTC)
    assert row.backfill is True


def test_naive_timestamp_is_read_in_the_brand_zone(client, write_key, session):
    post_batch(client, write_key, [track("Tap", timestamp="2026-11-11T10:00:00")])
    assert session.scalar(select(OutboxEvent.timestamp)) == datetime(2026, 11, 11, 2, tzinfo=UTC)


def test_future_timestamp_without_sent_at_becomes_received_time(client, write_key, session):
    future = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    post_batch(client, write_key, [track("Tap", timestamp=future)])
    assert session.scalar(select(OutboxEvent.timestamp)) < datetime.now(UTC) + timedelta(seconds=1)


def test_unknown_touchpoint_code_is_kept_and_registered_as_unregistered(client, write_key, session):
    post_batch(
        client,
        write_key,
        [track("QR Code Scanned", properties={"touchpoint": "poster-2026-spring"})],
    )
    touchpoint = session.scalar(select(Touchpoint))
    assert (touchpoint.code, touchpoint.is_registered) == ("poster-2026-spring", False)
    assert session.scalar(select(OutboxEvent.touchpoint)) == "poster-2026-spring"
    assert customer_360(session, "u1")["first_touchpoint"] == "poster-2026-spring"
