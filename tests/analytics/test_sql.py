"""The SQL each report compiles to is kept in review: a change in a plan shows up as a diff.

Refresh after an Ibis upgrade or a deliberate change: SIYU_UPDATE_SNAPSHOTS=1.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from siyu.analytics.registry import REPORTS
from siyu.analytics.runner import compiled_sql
from siyu.core.lake_tables import open_tables
from tests.analytics.factories import write_lake
from tests.analytics.test_engines import QUERIES, small_lake

SNAPSHOTS = Path(__file__).parent / "snapshots"
RANDOM_NAME = re.compile(r"(ibis_[a-z_]+?)_[a-z0-9]{26}\b")


@pytest.mark.parametrize("kind", sorted(REPORTS))
def test_the_compiled_sql_matches_its_snapshot(kind, lake_root):
    write_lake(lake_root, small_lake())
    module = REPORTS[kind]
    query = module.Query(**QUERIES[kind][0])

    sql = compiled_sql(module, query, open_tables(engine="duckdb"), "Asia/Shanghai")
    sql = RANDOM_NAME.sub(r"\1_…", sql)  # Ibis names an unnested column at random

    snapshot = SNAPSHOTS / f"{kind}.duckdb.sql"
    if os.environ.get("SIYU_UPDATE_SNAPSHOTS") or not snapshot.exists():
        SNAPSHOTS.mkdir(exist_ok=True)
        snapshot.write_text(sql, encoding="utf-8")
    assert sql == snapshot.read_text(encoding="utf-8"), "run with SIYU_UPDATE_SNAPSHOTS=1"
