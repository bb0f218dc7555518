"""Every report and page query gives the same answer on DuckDB and on Spark (local mode), over
one small lake.

Every query below runs on both engines (a case each): each attribution model, each funnel
template and order, each retention mode and cohort, and a report filtered by each kind of
segment condition and each trait test. One Spark session serves the whole module (starting one
costs seconds); answers are compared field by field, floats to 9 significant digits.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from siyu.analytics import runner
from siyu.analytics.registry import PAGE_QUERIES, REPORTS
from siyu.core.lake import open_lake
from siyu.core.lake_tables import open_tables, spark_session
from tests.analytics.factories import SHANGHAI, LakeRows, write_lake

pytestmark = [
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java"),
    # The lake is the same whatever the OLTP database: CI's SQLite pass runs this, once.
    pytest.mark.skipif(bool(os.environ.get("SIYU_TEST_DATABASE_URL")), reason="once per CI run"),
]

PERIOD = {"start": date(2026, 11, 1), "end": date(2026, 11, 30)}
SPARK_MASTER = "local[1]"  # not the default, to show the setting reaches Spark
SEGMENTS = [
    {  # a property read per engine (json_extract_string, get_json_object)
        "and": [
            {"event": "Message Read", "where": {"touchpoint": "mall"}},
            {"event": "Contact Deleted", "count": {"eq": 0}},
        ]
    },
    {"attribute": "city", "op": "eq", "value": "上海"},
    {"attribute": "city", "op": "ne", "value": "上海"},
    {"attribute": "city", "op": "in", "value": ["上海", "杭州"]},
    {"attribute": "city", "op": "not_in", "value": ["上海", "杭州"]},
    {"attribute": "city", "op": "contains", "value": "州"},
    {"attribute": "address.city", "op": "eq", "value": "北京"},  # a nested trait
    {"attribute": "first-name", "op": "eq", "value": "王"},  # a name read through JSON ops
    {"attribute": "age", "op": "eq", "value": 30},
    {"attribute": "age", "op": "in", "value": [25, 35]},
    {"attribute": "age", "op": "gt", "value": 30},
    {"attribute": "age", "op": "gte", "value": 30},
    {"attribute": "age", "op": "lt", "value": 30},
    {"attribute": "age", "op": "lte", "value": 30},
    {"attribute": "joined", "op": "lt", "value": "2026-10-15"},  # strings in code point order
    {"attribute": "size", "op": "gte", "value": 30},
    {"attribute": "vip", "op": "eq", "value": True},
    {"attribute": "phone", "op": "exists"},
    {"attribute": "phone", "op": "exists", "value": False},
    {"tag": "VIP"},
    {"event": "Product Viewed", "within_days": 14, "count": {"gte": 1, "lt": 3}},
    {"event": "Message Read", "where": {"touchpoint": ["mall", "ad-1"]}},
    {"event": "QR Code Scanned", "where": {"touchpoint": {"contains": "poster"}}},
    {"event": "Order Completed", "within_days": 30, "sum": {"property": "revenue", "gte": 20}},
    {"sequence": ["QR Code Scanned", "Contact Added", "Product Viewed"], "within_days": 30},
    {
        "sequence": [
            "Contact Added",
            {"event": "Order Completed", "where": {"revenue": {"gte": 12}}},
        ]
    },
    {"first_touchpoint": {"in": ["poster-1", "mall"]}},
    {"last_touchpoint": {"in": ["ad-1"]}},
    {"owner": {"in": [1]}},
    {"store": {"in": [10]}},
    {"lifecycle": {"in": ["new", "active"]}},
    {"lifecycle": {"in": ["silent", "churned"]}},
    {"rfm": {"in": ["important_value", "general_development", "important_recovery"]}},
    {"or": [{"tag": "VIP"}, {"not": {"attribute": "city", "op": "exists"}}]},
]
MODELS = ("last_touch", "first_touch", "linear", "time_decay", "position", "markov")
QUERIES = {
    "gmv": [  # the first query of each kind is also test_sql.py's
        *({"period": PERIOD, "breakdown": b} for b in ("touchpoint", "touchpoint_type")),
        *({"period": PERIOD, "breakdown": b} for b in ("store", "guide")),
        {"period": PERIOD},
        {"period": PERIOD, "filters": {"touchpoint": ["poster-1", "mall"], "guide": [1, 2]}},
        {"period": PERIOD, "filters": {"touchpoint_type": ["paid_ad"], "store": [10, 11]}},
        *({"period": PERIOD, "filters": {"segment": rule}} for rule in SEGMENTS),
    ],
    "retention": [
        {"period": PERIOD, "unit": "week", "periods": 3},
        {"period": PERIOD, "unit": "week", "periods": 3, "cohort_by": "touchpoint"},
        {"period": PERIOD, "unit": "day", "mode": "recurring", "periods": 10},
        {"period": PERIOD, "unit": "month", "mode": "recurring", "cohort_by": "touchpoint"},
    ],
    "rfm": [
        {"as_of": date(2026, 11, 30), "compare_to": date(2026, 11, 15)},
        {"as_of": date(2026, 11, 30), "filters": {"segment": {"tag": "VIP"}}},
    ],
    "attribution": [
        *({"period": PERIOD, "model": model} for model in MODELS),
        {"period": PERIOD, "model": "time_decay", "half_life_days": 2, "lookback_days": 10},
        {"period": PERIOD, "model": "markov", "filters": {"touchpoint_type": ["poster", "mall"]}},
    ],
    "funnels": [
        {"period": PERIOD, "template": "aarrr", "window_hours": 72, "breakdown": "touchpoint"},
        {"period": PERIOD, "template": "aarrr", "order": "any", "breakdown": "touchpoint_type"},
        {"period": PERIOD, "template": "rarra"},
        {"period": PERIOD, "template": "rarra", "order": "any", "exclusions": ["Contact Deleted"]},
        {
            "period": PERIOD,
            "steps": [{"events": ["QR Code Scanned"]}, {"events": ["Order Completed"]}],
            "window_hours": 24 * 30,
            "exclusions": ["Contact Deleted"],
        },
    ],
    "ltv": [
        {"calibration_end": date(2026, 11, 20), "holdout_end": date(2026, 11, 30)},
        {"calibration_end": date(2026, 11, 30), "period": "day", "horizon": 30},
    ],
    "guides": [
        {"period": PERIOD},
        {"period": PERIOD, "filters": {"store": [10]}},
    ],
    "goods": [
        {"period": PERIOD, "level": "category"},
        {"period": PERIOD, "level": "product"},
    ],
    # The console pages' numbers (the home page, touchpoints, codes) are runner queries too.
    "journey_steps": [{"journey_id": 3, "period": PERIOD}],
    "lake_customers": [{}],
    "message_results": [
        {"origin": "broadcast", "origin_id": 3, "period": PERIOD, "window_days": 7},
        {"origin": "broadcast", "origin_id": 3, "period": PERIOD, "window_days": 30},
        {"origin": "journey", "origin_id": 3, "period": PERIOD, "window_days": 7},
    ],
    "overview": [{"period": PERIOD, "filters": {"guide": [1, 2]}}, {"period": PERIOD}],
    "touchpoints": [
        {"period": PERIOD},
        {"period": PERIOD, "by": "code"},
        {"period": PERIOD, "by": "code", "key": "mall"},
    ],
}
RUNNERS = {**REPORTS, **PAGE_QUERIES}
CASES = [(kind, query) for kind, queries in QUERIES.items() for query in queries]
POINTS = ("poster-1", "ad-1", "guide-zhang", "mall")
STEPS = ("QR Code Scanned", "Contact Added", "Product Viewed", "Order Completed", "Message Read")
CITIES = ("上海", "杭州", "北京", "广州", "苏州")


def traits(cid: int) -> str:
    """Traits of every JSON type, some missing: what the segment conditions read."""
    found: dict = {"age": 20 + cid % 4 * 5, "joined": f"2026-10-{cid % 28 + 1:02d}"}
    found["size"] = 30 if cid % 2 else "30"  # the string is not the number
    if cid % 5:
        found["city"] = CITIES[cid % 4]
    if cid % 3 == 0:
        found |= {
            "address": {"city": CITIES[cid // 3 % 5]},
            "first-name": "王",
            "vip": cid % 2 == 1,
        }
    if cid % 4 == 1:
        found["phone"] = f"1380000{cid:04d}"
    elif cid % 4 == 2:
        found["phone"] = None
    return json.dumps(found, ensure_ascii=False)


def small_lake() -> LakeRows:
    """40 customers over two months, every kind of row a report reads, deterministic."""
    rows = LakeRows()
    for code, group, entry in zip(
        POINTS,
        ("poster", "paid_ad", "guide", "mall"),
        ("owned", "paid", "owned", "organic"),
        strict=True,
    ):
        rows.touchpoint(code, group, entry)
    start = datetime(2026, 10, 1, 9, tzinfo=SHANGHAI)
    for cid in range(1, 41):
        point = POINTS[cid % 4]
        seen = start + timedelta(days=cid, hours=cid % 7)
        rows.customer(
            cid,
            first_touchpoint=point,
            last_touchpoint=POINTS[(cid + 1) % 4],
            first_seen_at=seen,
            owner_id=cid % 3 or None,
            store_id=10 + cid % 3,
            traits=traits(cid),
        )
        if cid % 7 == 0:
            rows.tag(cid, "VIP")
        for k in range(cid % 6 + 1):
            at = seen + timedelta(days=5 * k, hours=k)
            rows.event(cid, STEPS[k % 5], at, touchpoint=POINTS[(cid + k) % 4])
            if k % 2 == 1:
                revenue = (10 + k) * 100 + 50
                rows.event(cid, "Order Completed", at + timedelta(hours=2), revenue=revenue / 100)
                line = {
                    "product_id": f"p{k}",
                    "name": f"P{k}",
                    "category": f"c{k % 3}",
                    "price": f"{10 + k}.50",
                    "quantity": 1 + cid % 2,
                }
                rows.order(cid, at + timedelta(hours=2), revenue, products=[line])
        if cid % 9 == 0:
            rows.event(cid, "Contact Deleted", seen + timedelta(days=20))
        if cid % 6 == 0:  # never buys; back in November (silent or new by then)
            rows.event(cid, "Product Viewed", datetime(2026, 11, 20, 9, tzinfo=SHANGHAI))
    for cid in range(1, 41, 2):  # guide tasks (导购任务): assigned, about two in three done
        properties = {"task_id": cid % 3 + 1, "guide_id": cid % 3 or 5, "kind": "message"}
        assigned = start + timedelta(days=30 + cid % 20)
        rows.event(cid, "Task Assigned", assigned, **properties)
        if cid % 3:
            rows.event(cid, "Task Completed", assigned + timedelta(hours=cid), **properties)
    planned = datetime(2026, 11, 10, 10, tzinfo=SHANGHAI)
    for cid in range(1, 42, 2):  # a broadcast: variants A and B and a holdout, some sent
        arm = ("A", "B", "holdout")[cid % 3]
        reach = {"origin": "broadcast", "origin_id": 3, "variant": arm}
        rows.event(cid, "Message Planned", planned, channel="sms", **reach)
        if arm != "holdout":
            rows.event(cid, "Message Sent" if cid % 5 else "Message Failed", planned, **reach)
    for cid in range(2, 41, 3):  # a journey (id 3): entered, a holdout step, some exited
        entered = planned + timedelta(hours=cid)
        entry = {"journey": "win-back", "journey_id": 3, "version": 1, "entry_id": 100 + cid}
        rows.event(cid, "Journey Entered", entered, **entry)
        arm = {"arm": "holdout"} if cid % 4 == 0 else {}
        rows.event(cid, "Journey Step Completed", entered, step="holdout", **entry, **arm)
        if cid % 5 == 0:
            rows.event(cid, "Journey Exited", entered, step="holdout", reason="holdout", **entry)
        elif cid % 2:
            rows.event(
                cid, "Journey Step Completed", entered + timedelta(days=1), step="hi", **entry
            )
    rows.customer(41, merged_into=1)
    rows.order(41, datetime(2026, 11, 25, 10, tzinfo=SHANGHAI), 4_200)
    return rows


def rounded(value):
    if isinstance(value, float):
        return float(f"{value:.9g}") if math.isfinite(value) else value
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("engines") / "lake"
    write_lake(root, small_lake())
    return root


@pytest.fixture(scope="module")
def engines(lake):
    from siyu.core.settings import reset_settings

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SIYU_LAKE", str(lake))
        patch.setenv("SIYU_TIMEZONE", "Asia/Shanghai")
        patch.setenv("SIYU_SPARK_MASTER", SPARK_MASTER)
        reset_settings()
        yield {name: open_tables(open_lake(), name) for name in ("duckdb", "pyspark")}
    reset_settings()


@pytest.mark.parametrize(
    ("kind", "query"), CASES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(CASES)]
)
def test_duckdb_and_spark_give_identical_reports(engines, kind, query):
    module = RUNNERS[kind]
    answers = {
        name: rounded(
            runner.run(
                module, module.Query(**query), tables=tables, use_cache=False
            ).result.model_dump(mode="json")
        )
        for name, tables in engines.items()
    }
    assert answers["duckdb"] == answers["pyspark"]
    assert answers["duckdb"] != rounded(module.Result.model_construct().__dict__)


def test_every_report_and_page_query_has_queries():
    assert set(QUERIES) == set(RUNNERS)


def test_each_segment_rule_keeps_some_visitors_but_not_all(lake):
    """So that each segment case above compares a real filter, not an empty or a whole crowd."""
    tables = open_tables(open_lake(str(lake)), "duckdb")
    gmv = REPORTS["gmv"]

    def visitors(filters: dict) -> int:
        query = gmv.Query(period=PERIOD, filters=filters)
        return runner.run(gmv, query, tables=tables, use_cache=False).result.total.current.visitors

    everyone = visitors({})
    kept = {json.dumps(rule, ensure_ascii=False): visitors({"segment": rule}) for rule in SEGMENTS}
    assert {rule: n for rule, n in kept.items() if not 0 < n < everyone} == {}


def test_spark_runs_on_the_configured_master_with_siyus_interpreter(engines):
    context = spark_session().sparkContext
    assert context.master == SPARK_MASTER
    assert context.pythonExec == sys.executable
