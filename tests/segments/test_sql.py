"""The SQL Ibis compiles for a rule is kept in review: a change in the plan shows up as a diff."""

from __future__ import annotations

import os
from pathlib import Path

import ibis

from siyu.core.lake_tables import open_tables
from siyu.segments.compile import members_expr, with_user_ids
from siyu.segments.rules import parse_rule
from tests.segments.conftest import AS_OF
from tests.segments.factories import SHANGHAI, write_lake

SNAPSHOT = Path(__file__).parent / "snapshots" / "every_condition.duckdb.sql"
RULE = {
    "and": [
        {"attribute": "city", "op": "in", "value": ["上海", "杭州"]},
        {"or": [{"tag": "VIP"}, {"rfm": {"in": ["important_value"]}}]},
        {
            "event": "Order Completed",
            "within_days": 180,
            "sum": {"property": "revenue", "gte": 500},
        },
        {"not": {"event": "Coupon Redeemed", "within_days": 30, "where": {"coupon_id": "C1"}}},
        {"lifecycle": {"in": ["active", "silent"]}},
        {"sequence": ["Product Viewed", "Checkout Started"], "within_days": 3},
        {"first_touchpoint": {"in": ["poster"]}},
    ]
}


def test_the_compiled_sql_matches_its_snapshot(rows, lake_root):
    rows.customer(1)
    rows.user_id(1, "u-1")
    rows.order(1, AS_OF, 100)
    rows.tag(1, "VIP")
    rows.event(1, "Product Viewed", AS_OF)
    write_lake(lake_root, rows)
    tables = open_tables()

    expr = with_user_ids(members_expr(parse_rule(RULE), tables, AS_OF, zone=SHANGHAI), tables)
    sql = ibis.to_sql(expr, dialect="duckdb") + "\n"

    if os.environ.get("SIYU_UPDATE_SNAPSHOTS") or not SNAPSHOT.exists():
        SNAPSHOT.write_text(sql, encoding="utf-8")
    assert sql == SNAPSHOT.read_text(encoding="utf-8"), "run with SIYU_UPDATE_SNAPSHOTS=1"
