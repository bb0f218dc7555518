"""Every kind of condition, compiled and run on a small hand-made lake."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.segments.conftest import AS_OF

DAY = timedelta(days=1)


@pytest.fixture
def people(rows):
    rows.customer(1, traits={"city": "上海", "age": 30, "vip": True, "address": {"city": "上海"}})
    rows.customer(2, traits={"city": "北京", "age": 25.5, "nickname": "Shanghai Lily"})
    rows.customer(3, traits={"city": None, "age": "30"})
    rows.customer(4, traits={})
    return rows


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"attribute": "city", "op": "eq", "value": "上海"}, [1]),
        ({"attribute": "city", "op": "ne", "value": "上海"}, [2, 3, 4]),
        ({"attribute": "city", "op": "in", "value": ["上海", "北京"]}, [1, 2]),
        ({"attribute": "city", "op": "not_in", "value": ["上海", "北京"]}, [3, 4]),
        ({"attribute": "age", "op": "eq", "value": 30}, [1]),  # the string "30" is not 30
        ({"attribute": "age", "op": "eq", "value": 25.5}, [2]),
        ({"attribute": "age", "op": "in", "value": [30.0, "x"]}, [1]),
        ({"attribute": "age", "op": "gt", "value": 25.5}, [1]),
        ({"attribute": "age", "op": "gte", "value": 25.5}, [1, 2]),
        ({"attribute": "age", "op": "lt", "value": 30}, [2]),
        ({"attribute": "age", "op": "lte", "value": 30}, [1, 2]),
        ({"attribute": "city", "op": "lt", "value": "北"}, [1]),  # code point order
        ({"attribute": "nickname", "op": "contains", "value": "Shanghai"}, [2]),
        ({"attribute": "vip", "op": "eq", "value": True}, [1]),
        ({"attribute": "city", "op": "exists"}, [1, 2]),  # null is not there
        ({"attribute": "city", "op": "exists", "value": False}, [3, 4]),
        ({"attribute": "address.city", "op": "eq", "value": "上海"}, [1]),
    ],
)
def test_attribute_conditions_read_the_traits(people, members_of, rule, expected):
    assert members_of(rule) == expected


def test_and_or_not_combine_conditions(people, members_of):
    shanghai = {"attribute": "city", "op": "eq", "value": "上海"}
    beijing = {"attribute": "city", "op": "eq", "value": "北京"}

    assert members_of({"or": [shanghai, beijing]}) == [1, 2]
    assert members_of({"and": [shanghai, {"attribute": "vip", "op": "exists"}]}) == [1]
    assert members_of({"not": {"or": [shanghai, beijing]}}) == [3, 4]


def test_a_tag_condition_reads_customer_tags(rows, members_of):
    rows.customer(1)
    rows.customer(2)
    rows.tag(2, "VIP")

    assert members_of({"tag": "VIP"}) == [2]
    assert members_of({"not": {"tag": "VIP"}}) == [1]


def test_without_a_customer_tags_table_nobody_has_a_tag(rows, members_of):
    rows.customer(1)

    assert members_of({"tag": "VIP"}) == []
    assert members_of({"not": {"tag": "VIP"}}) == [1]


@pytest.fixture
def shoppers(rows):
    for cid in (1, 2, 3):
        rows.customer(cid)
    rows.event(1, "Order Completed", AS_OF - 2 * DAY, revenue=100, store="S1")
    rows.event(1, "Order Completed", AS_OF - 40 * DAY, revenue=50.5, store="S2")
    rows.event(2, "Order Completed", AS_OF - 3 * DAY, revenue=20, store="S1")
    rows.event(2, "Product Viewed", AS_OF - 1 * DAY, product_id="p1")
    return rows


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"event": "Order Completed"}, [1, 2]),
        ({"event": "Order Completed", "within_days": 30}, [1, 2]),
        ({"event": "Order Completed", "count": {"gte": 2}}, [1]),
        ({"event": "Order Completed", "within_days": 30, "count": {"gte": 2}}, []),
        ({"event": "Order Completed", "count": {"eq": 0}}, [3]),
        ({"event": "Order Completed", "count": {"gte": 1, "lt": 2}}, [2]),
        ({"event": "Order Completed", "where": {"store": "S2"}}, [1]),
        ({"event": "Order Completed", "where": {"store": ["S1", "S2"]}}, [1, 2]),
        ({"event": "Order Completed", "where": {"revenue": {"gte": 50}}}, [1]),
        ({"event": "Order Completed", "sum": {"property": "revenue", "gte": 150.5}}, [1]),
        ({"event": "Order Completed", "sum": {"property": "revenue", "gt": 150.5}}, []),
        (
            {
                "event": "Order Completed",
                "within_days": 30,
                "sum": {"property": "revenue", "lt": 50},
            },
            [2],
        ),
        ({"event": "Product Viewed", "count": {"eq": 0}}, [1, 3]),
    ],
)
def test_event_conditions_count_and_sum_what_was_done(shoppers, members_of, rule, expected):
    assert members_of(rule) == expected


def test_profile_conditions_read_the_customers_columns(rows, members_of):
    rows.customer(1, first_touchpoint="poster", last_touchpoint="store-qr", owner_id=7, store_id=3)
    rows.customer(2, first_touchpoint="store-qr", last_touchpoint="poster", owner_id=8)
    rows.customer(3)

    assert members_of({"first_touchpoint": {"in": ["poster"]}}) == [1]
    assert members_of({"last_touchpoint": {"in": ["poster", "x"]}}) == [2]
    assert members_of({"owner": {"in": [7, 8]}}) == [1, 2]
    assert members_of({"store": {"in": [3]}}) == [1]
    assert members_of({"not": {"store": {"in": [3]}}}) == [2, 3]


def test_a_touchpoint_type_holds_for_every_code_of_that_type(rows, members_of):
    rows.touchpoint("store-qr", "store")
    rows.touchpoint("store-new", "store")  # registered after the rule was written: it counts
    rows.touchpoint("poster", "poster")
    rows.customer(1, first_touchpoint="store-qr", last_touchpoint="poster")
    rows.customer(2, first_touchpoint="store-new", last_touchpoint="store-qr")
    rows.customer(3, first_touchpoint="poster")
    rows.customer(4)

    assert members_of({"first_touchpoint": {"in_group": ["store"]}}) == [1, 2]
    assert members_of({"last_touchpoint": {"in_group": ["store", "poster"]}}) == [1, 2]
    assert members_of({"not": {"first_touchpoint": {"in_group": ["store"]}}}) == [3, 4]


def test_lifecycle_stages_follow_first_seen_and_orders(rows, members_of):
    rows.customer(1, first_seen_at=AS_OF - 29 * DAY)  # new
    rows.customer(2, first_seen_at=AS_OF - 100 * DAY)  # ordered 89 days ago: active
    rows.order(2, AS_OF - 89 * DAY, 100)
    rows.customer(3, first_seen_at=AS_OF - 300 * DAY)  # last order 180 days ago: silent
    rows.order(3, AS_OF - 180 * DAY, 100)
    rows.customer(4, first_seen_at=AS_OF - 300 * DAY)  # last order over 180 days ago: churned
    rows.order(4, AS_OF - 180 * DAY - timedelta(seconds=1), 100)
    rows.customer(5, first_seen_at=AS_OF - 31 * DAY)  # seen, never ordered: silent
    rows.customer(6, first_seen_at=AS_OF - 300 * DAY)  # only a refunded order: silent
    rows.order(6, AS_OF - 5 * DAY, 100, status="refunded", refunded_fen=100)
    rows.customer(7, first_seen_at=AS_OF + DAY)  # not seen yet at as_of: no stage

    assert members_of({"lifecycle": {"in": ["new"]}}) == [1]
    assert members_of({"lifecycle": {"in": ["active"]}}) == [2]
    assert members_of({"lifecycle": {"in": ["silent"]}}) == [3, 5, 6]
    assert members_of({"lifecycle": {"in": ["churned"]}}) == [4]


def test_a_new_customer_who_ordered_is_new(rows, members_of):
    rows.customer(1, first_seen_at=AS_OF - 3 * DAY)
    rows.order(1, AS_OF - 2 * DAY, 100)

    assert members_of({"lifecycle": {"in": ["new"]}}) == [1]


def test_rfm_layers_split_buyers_at_the_averages(rows, members_of):
    # recency days 10, 10, 40, 40 (average 25); orders 3, 1, 3, 1 (2); fen 900, 100, 100, 900 (500)
    for cid, (days, orders, fen) in enumerate(
        [(10, 3, 900), (10, 1, 100), (40, 3, 100), (40, 1, 900)], start=1
    ):
        rows.customer(cid)
        for n in range(orders):
            rows.order(cid, AS_OF - (days + n * 50) * DAY, fen // orders)
    rows.customer(5)  # never bought: no layer

    assert members_of({"rfm": {"in": ["important_value"]}}) == [1]
    assert members_of({"rfm": {"in": ["general_development"]}}) == [2]
    assert members_of({"rfm": {"in": ["general_retention"]}}) == [3]
    assert members_of({"rfm": {"in": ["important_recovery"]}}) == [4]
    assert members_of({"not": {"rfm": {"in": list(LAYERS)}}}) == [5]


LAYERS = (
    "important_value",
    "important_development",
    "important_retention",
    "important_recovery",
    "general_value",
    "general_development",
    "general_retention",
    "general_recovery",
)


def test_rfm_ties_with_the_average_count_as_high(rows, members_of):
    # Two buyers alike: each is exactly average, so both are recent, frequent and valuable.
    for cid in (1, 2):
        rows.customer(cid)
        rows.order(cid, AS_OF - 5 * DAY, 300)

    assert members_of({"rfm": {"in": ["important_value"]}}) == [1, 2]


def test_rfm_counts_net_amounts_and_skips_refunded_orders(rows, members_of):
    rows.customer(1)
    rows.order(1, AS_OF - 5 * DAY, 1000, status="partially_refunded", refunded_fen=900)
    rows.customer(2)
    rows.order(2, AS_OF - 5 * DAY, 200)
    rows.order(2, AS_OF - 5 * DAY, 5000, status="refunded", refunded_fen=5000)

    # net 100 and 200 fen, average 150: only customer 2 is valuable
    assert members_of({"rfm": {"in": ["important_value"]}}) == [2]


def test_a_segment_condition_uses_the_other_segments_rule(rows, members_of):
    rows.customer(1)
    rows.customer(2)
    rows.tag(1, "VIP")
    stored = {"vips": {"tag": "VIP"}}

    assert members_of({"segment": "vips"}, segments=stored) == [1]
    assert members_of({"not": {"segment": "vips"}}, segments=stored) == [2]


@pytest.fixture
def journeys(rows):
    for cid in (1, 2, 3, 4):
        rows.customer(cid)
    rows.event(1, "Product Viewed", AS_OF - 10 * DAY)
    rows.event(1, "Order Completed", AS_OF - 3 * DAY)  # 7 days after the view
    rows.event(2, "Order Completed", AS_OF - 10 * DAY)  # bought, then viewed: wrong order
    rows.event(2, "Product Viewed", AS_OF - 3 * DAY)
    at = AS_OF - 2 * DAY
    rows.event(3, "Product Viewed", at)  # both in the same instant: not "after"
    rows.event(3, "Order Completed", at)
    rows.event(4, "Product Viewed", AS_OF - 20 * DAY)  # a late start, then a quick one
    rows.event(4, "Product Viewed", AS_OF - 5 * DAY)
    rows.event(4, "Order Completed", AS_OF - 4 * DAY)
    return rows


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"sequence": ["Product Viewed", "Order Completed"]}, [1, 4]),
        ({"sequence": ["Product Viewed", "Order Completed"], "within_days": 7}, [1, 4]),
        ({"sequence": ["Product Viewed", "Order Completed"], "within_days": 6}, [4]),
        ({"sequence": ["Order Completed", "Product Viewed"]}, [2]),
        ({"sequence": ["Product Viewed", "Product Viewed", "Order Completed"]}, [4]),
    ],
)
def test_a_sequence_needs_its_steps_in_order_within_the_days(journeys, members_of, rule, expected):
    assert members_of(rule) == expected
