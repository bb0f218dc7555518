"""SIYU_LAKE as any fsspec location: a memory:// lake is written by the shipper and read by
reports, segments and the lake's own views, with nothing landing on the local disk."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import fsspec
import pytest
from typer.testing import CliRunner

from siyu.cli import app
from siyu.core.lake import duckdb_connection, open_lake
from siyu.core.settings import reset_settings
from siyu.events.shipper import ship_all
from siyu.snapshots import write_snapshots
from tests.helpers import identify, post_batch, track


@pytest.fixture
def memory_lake(monkeypatch: pytest.MonkeyPatch):
    """A lake in fsspec's memory filesystem (one process-wide store: a fresh folder per test)."""
    folder = f"siyu-{uuid.uuid4().hex}"
    monkeypatch.setenv("SIYU_LAKE", f"memory://{folder}/lake")
    reset_settings()
    yield folder
    memory = fsspec.filesystem("memory")
    if memory.exists(f"/{folder}"):
        memory.rm(f"/{folder}", recursive=True)


def order(user_id: str, order_id: str, revenue: str, day: int) -> dict:
    properties = {"order_id": order_id, "revenue": revenue, "touchpoint": "poster-1"}
    return track(
        "Order Completed",
        user_id=user_id,
        timestamp=f"2026-11-{day:02d}T10:00:00+08:00",
        properties=properties,
    )


def run(*args: str) -> dict:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_memory_lake_is_shipped_to_and_reported_from(memory_lake, client, write_key, tmp_path):
    scan = {"touchpoint": "poster-1", "code": "poster-1"}
    post_batch(
        client,
        write_key,
        [
            identify("a", {"city": "长沙"}),
            identify("b", {"city": "武汉"}),
            track(
                "QR Code Scanned",
                user_id="a",
                timestamp="2026-11-09T09:00:00+08:00",
                properties=scan,
            ),
            order("a", "o-1", "30.00", 10),
            order("a", "o-2", "12.50", 12),
            order("b", "o-3", "20.00", 11),
        ],
    )
    assert ship_all() == 6
    write_snapshots()

    lake = open_lake()
    files = lake.fs.glob(lake.path("**", "*.parquet"))
    assert files and all(f.startswith(f"/{memory_lake}/lake/") for f in files)
    assert not Path(f"/{memory_lake}").exists()  # where a reader without the protocol looks
    events = duckdb_connection(lake).execute("SELECT count(*) FROM events").fetchone()[0]
    assert events == 6

    gmv = run("report", "gmv", "--start", "2026-11-08", "--end", "2026-11-14")["total"]["current"]
    assert (gmv["buyers"], gmv["orders"], gmv["gmv_fen"]) == (2, 3, 6_250)

    retention = run(
        "report", "retention", "--start", "2026-11-01", "--end", "2026-11-30", "--unit", "month"
    )
    assert [(c["size"], c["retained"][0]) for c in retention["cohorts"]] == [(2, 2)]

    rule = tmp_path / "buyers_twice.json"
    rule.write_text(
        json.dumps({"event": "Order Completed", "within_days": 30, "count": {"gte": 2}})
    )
    preview = run("segment", "preview", str(rule), "--as-of", "2026-11-24")
    assert preview["count"] == 1
