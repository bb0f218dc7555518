"""The demo brand comes with tags, auto-tags and filled segments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from siyu.core.db import unit_of_work
from siyu.demo import service
from siyu.demo.segments import seed_demo
from siyu.demo.stream import Plan
from siyu.segments import service as stored_segments
from siyu.tags.service import all_tags, tag_counts

ZONE = ZoneInfo("Asia/Shanghai")


def test_the_demo_has_meaningful_tags_and_segments_out_of_the_box():
    now = datetime.now(UTC)
    end = (now - timedelta(days=1)).astimezone(ZONE).date()
    service.build(Plan(end_date=end, customers=150, days=90, seed=3, zone=ZONE), now)
    with unit_of_work() as s:
        counts = tag_counts(s)
        held = {t.name: counts.get(t.id, 0) for t in all_tags(s)}
        segments = {seg.key: seg.member_count for seg in stored_segments.list_segments(s)}
    assert held["新客"] > 0 and held["活跃客"] > 0
    assert sum(held[name] for name in ("新客", "活跃客", "沉默客", "流失客")) >= 140
    assert held["常客"] > 0 and held["VIP群成员"] > 0
    assert set(segments) >= {"regulars", "win-back", "scanned-no-order", "new-from-stores"}
    assert segments["new-from-stores"] > 0
    seed_demo()  # a second run keeps what is there
    with unit_of_work() as s:
        assert {seg.key: seg.member_count for seg in stored_segments.list_segments(s)} == segments
