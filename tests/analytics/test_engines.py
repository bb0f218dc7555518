"""Every report gives the same answer on DuckDB and on Spark (local mode), over one small lake.

One Spark session serves the whole run (starting one costs seconds); each report is compared
field by field, floats to 9 significant digits.
"""

from __future__ import annotations

import math
import os
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from siyu.analytics import runner
from siyu.analytics.registry import REPORTS
from siyu.analytics.tables import open_tables
from tests.analytics.factories import SHANGHAI, LakeRows, write_lake

pytestmark = [
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java"),
    # The lake is the same whatever the OLTP database: CI's SQLite pass runs this, once.
    pytest.mark.skipif(bool(os.environ.get("SIYU_TEST_DATABASE_URL")), reason="once per CI run"),
]

PERIOD = {"start": date(2026, 11, 1), "end": date(2026, 11, 30)}
QUERIES = {
    "gmv": [
        {"period": PERIOD, "breakdown": "touchpoint"},
        {  # a segment: a property read per engine (json_extract_string, get_json_object)
            "period": PERIOD,
            "filters": {
                "segment": {
                    "and": [
                        {"event": "Message Read", "where": {"touchpoint": "mall"}},
                        {"event": "Contact Deleted", "count": {"eq": 0}},
                    ]
                }
            },
        },
    ],
    "retention": [
        {"period": PERIOD, "unit": "week", "periods": 3},
        {"period": PERIOD, "unit": "month", "mode": "recurring", "cohort_by": "touchpoint"},
    ],
    "rfm": [{"as_of": date(2026, 11, 30), "compare_to": date(2026, 11, 15)}],
    "attribution": [
        {"period": PERIOD, "model": model}
        for model in ("last_touch", "linear", "time_decay", "position", "markov")
    ],
    "funnels": [
        {"period": PERIOD, "template": "aarrr", "window_hours": 72, "breakdown": "touchpoint"},
        {"period": PERIOD, "template": "rarra", "order": "any", "exclusions": ["Contact Deleted"]},
    ],
    "ltv": [{"calibration_end": date(2026, 11, 20), "holdout_end": date(2026, 11, 30)}],
    "guides": [{"period": PERIOD}],
    "goods": [{"period": PERIOD, "level": "category"}],
}
POINTS = ("poster-1", "ad-1", "guide-zhang", "mall")
STEPS = ("QR Code Scanned", "Contact Added", "Product Viewed", "Order Completed", "Message Read")


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
        rows.customer(cid, first_touchpoint=point, first_seen_at=seen, owner_id=cid % 3 or None)
        for k in range(cid % 6 + 1):
            at = seen + timedelta(days=5 * k, hours=k)
            rows.event(cid, STEPS[k % 5], at, touchpoint=POINTS[(cid + k) % 4])
            if k % 2 == 1:
                rows.event(cid, "Order Completed", at + timedelta(hours=2))
                line = {
                    "product_id": f"p{k}",
                    "name": f"P{k}",
                    "category": f"c{k % 3}",
                    "price": f"{10 + k}.50",
                    "quantity": 1 + cid % 2,
                }
                rows.order(cid, at + timedelta(hours=2), (10 + k) * 100 + 50, products=[line])
        if cid % 9 == 0:
            rows.event(cid, "Contact Deleted", seen + timedelta(days=20))
    for cid in range(1, 41, 2):  # guide tasks (导购任务): assigned, about two in three done
        properties = {"task_id": cid % 3 + 1, "guide_id": cid % 3 or 5, "kind": "message"}
        assigned = start + timedelta(days=30 + cid % 20)
        rows.event(cid, "Task Assigned", assigned, **properties)
        if cid % 3:
            rows.event(cid, "Task Completed", assigned + timedelta(hours=cid), **properties)
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


def test_duckdb_and_spark_give_identical_reports(lake, monkeypatch):
    from siyu.core.lake import open_lake
    from siyu.core.settings import reset_settings

    monkeypatch.setenv("SIYU_LAKE", str(lake))
    monkeypatch.setenv("SIYU_TIMEZONE", "Asia/Shanghai")
    reset_settings()
    engines = {name: open_tables(open_lake(), name) for name in ("duckdb", "pyspark")}
    different = []
    for kind, queries in QUERIES.items():
        module = REPORTS[kind]
        for query in queries[:2] if kind == "attribution" else queries[:1]:
            answers = {
                name: rounded(
                    runner.run(
                        module, module.Query(**query), tables=tables, use_cache=False
                    ).result.model_dump(mode="json")
                )
                for name, tables in engines.items()
            }
            if answers["duckdb"] != answers["pyspark"]:
                different.append(f"{kind} {query}")
            assert answers["duckdb"] != rounded(module.Result.model_construct().__dict__)
    assert not different, different
    assert set(QUERIES) == set(REPORTS)
