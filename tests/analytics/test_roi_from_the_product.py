"""ROI of a paid touchpoint from what the product itself records: its cost, a scan, an order."""

from __future__ import annotations

import json
from datetime import datetime

from typer.testing import CliRunner

from siyu.cli import app
from siyu.core.db import unit_of_work
from siyu.events.service import SourceRef, ingest
from siyu.events.shipper import ship_all
from siyu.events.sources import create_key
from siyu.snapshots import write_snapshots
from siyu.touchpoints.service import record_cost, register
from tests.analytics.factories import SHANGHAI


def test_attribution_roi_uses_the_cost_recorded_for_a_paid_touchpoint():
    scanned = datetime(2026, 11, 9, 10, tzinfo=SHANGHAI)
    with unit_of_work() as s:
        source, _ = create_key(s, "mall")
        register(s, "ad-moments", "朋友圈广告", group="paid_ad", entry_type="paid")
        start, end = datetime(2026, 11, 1, tzinfo=SHANGHAI), datetime(2026, 12, 1, tzinfo=SHANGHAI)
        record_cost(s, "ad-moments", start, end, 5_000)
        ref = SourceRef(source.id, source.name)
        scan = {"type": "track", "event": "QR Code Scanned", "userId": "u1", "messageId": "s1"}
        scan |= {"timestamp": scanned.isoformat(), "properties": {"touchpoint": "ad-moments"}}
        order = {"type": "track", "event": "Order Completed", "userId": "u1", "messageId": "o1"}
        order |= {"timestamp": scanned.replace(hour=12).isoformat()}
        order["properties"] = {"order_id": "A1", "revenue": "80.00"}
        ingest(s, ref, [scan, order], scanned.replace(hour=13))
    ship_all()
    write_snapshots()

    args = ["report", "attribution", "--model", "last_touch", "--lookback-days", "7"]
    out = CliRunner().invoke(app, [*args, "--start", "2026-11-01", "--end", "2026-11-30", "--json"])
    assert out.exit_code == 0, out.output
    rows = {row["touchpoint"]: row for row in json.loads(out.output)["touchpoints"]}
    assert rows["ad-moments"]["conversions"] == 1
    assert rows["ad-moments"]["roi"] == (8_000 - 5_000) / 5_000
