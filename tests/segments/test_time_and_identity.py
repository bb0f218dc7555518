"""as_of and within_days in the brand's zone, and customers merged from several ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from siyu.core.errors import InvalidInput
from siyu.segments import evaluation
from tests.segments.factories import SHANGHAI

TICK = timedelta(microseconds=1)


def test_a_date_as_of_is_the_start_of_that_day_in_the_brand_zone():
    assert evaluation.parse_as_of("2026-11-22") == datetime(2026, 11, 21, 16, tzinfo=UTC)
    assert evaluation.parse_as_of("2026-11-22T10:30") == datetime(2026, 11, 22, 2, 30, tzinfo=UTC)
    assert evaluation.parse_as_of("2026-11-22T10:30+00:00") == datetime(
        2026, 11, 22, 10, 30, tzinfo=UTC
    )


def test_an_unreadable_as_of_is_refused():
    with pytest.raises(InvalidInput, match="as_of must be a date"):
        evaluation.parse_as_of("yesterday")


def test_within_days_starts_after_as_of_minus_n_days_and_ends_at_as_of(rows, members_of):
    midnight = datetime(2026, 11, 22, tzinfo=SHANGHAI)
    week_before = datetime(2026, 11, 15, tzinfo=SHANGHAI)
    for cid, at in enumerate([week_before, week_before + TICK, midnight, midnight + TICK], start=1):
        rows.customer(cid)
        rows.event(cid, "Coupon Redeemed", at)

    as_of = evaluation.parse_as_of("2026-11-22")
    rule = {"event": "Coupon Redeemed", "within_days": 7}

    assert members_of(rule, as_of=as_of) == [2, 3]
    assert members_of({"event": "Coupon Redeemed"}, as_of=as_of) == [1, 2, 3]


def test_a_later_as_of_moves_the_window(rows, members_of):
    rows.customer(1)
    rows.event(1, "Group Joined", datetime(2026, 11, 1, 23, 59, tzinfo=SHANGHAI))
    rule = {"event": "Group Joined", "within_days": 1}

    assert members_of(rule, as_of=evaluation.parse_as_of("2026-11-02")) == [1]
    assert members_of(rule, as_of=evaluation.parse_as_of("2026-11-03")) == []
    assert members_of(rule, as_of=evaluation.parse_as_of("2026-11-01")) == []


def test_events_late_in_the_day_are_found_across_the_utc_date_line(rows, members_of):
    # 07:30 in Shanghai is the previous day in UTC; the lake's partition is the Shanghai date.
    rows.customer(1)
    rows.event(1, "QR Code Scanned", datetime(2026, 11, 22, 7, 30, tzinfo=SHANGHAI))
    rule = {"event": "QR Code Scanned", "within_days": 1}

    assert members_of(rule, as_of=evaluation.parse_as_of("2026-11-22T08:00")) == [1]
    assert members_of(rule, as_of=evaluation.parse_as_of("2026-11-22T07:00")) == []


@pytest.fixture
def merged(rows):
    """Customer 2 (an anonymous device) and 3 were merged into 1; 4 stands alone."""
    rows.customer(1)
    rows.customer(2, merged_into=1)
    rows.customer(3, merged_into=2)  # merged into 2 before 2 was merged into 1
    rows.customer(4)
    rows.user_id(1, "u-1")
    rows.user_id(3, "u-3")  # merges moved identities: what a snapshot still shows is mapped
    at = datetime(2026, 11, 20, tzinfo=SHANGHAI)
    for cid in (1, 2, 3):
        rows.event(cid, "Product Viewed", at)
    rows.event(4, "Product Viewed", at)
    rows.tag(3, "VIP")
    rows.order(2, at, 500)
    return rows


def test_a_merged_customer_is_counted_once_with_all_their_ids_events(merged, members_of):
    assert members_of({"event": "Product Viewed", "count": {"gte": 3}}) == [1]
    assert members_of({"event": "Product Viewed"}) == [1, 4]
    assert members_of({"not": {"event": "Product Viewed"}}) == []


def test_tags_and_orders_of_merged_ids_belong_to_the_kept_customer(merged, members_of):
    assert members_of({"tag": "VIP"}) == [1]
    assert members_of({"lifecycle": {"in": ["active"]}}) == [1]


def test_members_are_listed_once_by_user_id(merged, lake_root, members_of):
    members_of({"event": "Product Viewed"})  # writes the lake

    found = list(evaluation.members({"event": "Product Viewed"}, as_of=_as_of()))

    assert [member.label for member in found] == ["u-1", "4"]


def test_preview_counts_and_samples_twenty_by_customer_id(rows, lake_root, members_of):
    for cid in range(1, 31):
        rows.customer(cid, traits={"city": "上海"})
        rows.user_id(cid, f"u{cid:02d}")
    members_of({"tag": "none"})  # writes the lake

    result = evaluation.preview({"attribute": "city", "op": "eq", "value": "上海"}, as_of=_as_of())

    assert result.count == 30
    assert [m.user_id for m in result.sample] == [f"u{cid:02d}" for cid in range(1, 21)]


def test_preview_of_an_empty_lake_is_empty(lake_root):
    assert evaluation.preview({"tag": "VIP"}).model_dump() == {"count": 0, "sample": []}


def _as_of() -> datetime:
    return datetime(2026, 11, 22, tzinfo=SHANGHAI)
