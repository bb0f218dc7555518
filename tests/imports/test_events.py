"""Event imports: Segment messages, one a line, stored as given under the `import` source."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from siyu.events.models import OutboxEvent
from tests.imports.helpers import EXAMPLES, run, stored_events, write_jsonl


def test_jsonl_events_import(session):
    summary = run("events", EXAMPLES / "events.jsonl")
    assert (summary.rows, summary.stored, summary.rejected) == (4, 4, 0)
    rows = session.scalars(select(OutboxEvent).order_by(OutboxEvent.timestamp)).all()
    assert [r.source for r in rows] == ["import"] * 4
    assert rows[0].message_id == "ev-0001"
    assert rows[0].timestamp == datetime(2026, 11, 10, 1, 0, tzinfo=UTC)
    viewed = next(r for r in rows if r.event == "Product Viewed")
    assert viewed.message_id.startswith("sha256-")  # no messageId: one from its content
    assert viewed.timestamp == datetime(2026, 11, 10, 4, 0, tzinfo=UTC)  # naive: brand zone


def test_sent_at_does_not_move_an_old_event_to_the_import_time(tmp_path, session):
    old = {
        "type": "track",
        "userId": "u1",
        "event": "Coupon Applied",
        "timestamp": "2025-01-01T00:00:00Z",
        "sentAt": "2025-01-01T00:00:05Z",
        "messageId": "m1",
    }
    run("events", write_jsonl(tmp_path / "e.jsonl", [old]))
    assert session.scalar(select(OutboxEvent.timestamp)) == datetime(2025, 1, 1, tzinfo=UTC)


def test_a_bad_line_is_named_by_its_line_number(tmp_path, session):
    path = write_jsonl(
        tmp_path / "e.jsonl",
        [
            {"type": "track", "userId": "u1", "event": "A"},
            "{not json",
            {"type": "track", "userId": "u1"},
            {"type": "track", "userId": "null", "event": "B"},
        ],
    )
    summary = run("events", path)
    assert summary.stopped and stored_events(session) == 0
    assert summary.problems[0].startswith("row 2: not JSON")
    assert summary.problems[1:] == [
        "row 3, event: event is required for a track call",
        "row 4, userId: neither userId nor anonymousId can identify anyone "
        "(empty or a blocked value such as 'null')",
    ]
    summary = run("events", path, skip_bad=True)
    assert (summary.stored, summary.rejected) == (1, 3)
    assert (tmp_path / "e.rejected.jsonl").read_text().count("\n") == 3
