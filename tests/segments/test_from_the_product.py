"""Segments over a lake the product wrote itself: tracked events, a tag, shipped and snapshotted."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from siyu.cli import app
from siyu.core.db import unit_of_work
from siyu.customers.service import find_customer
from siyu.events.shipper import ship_all
from siyu.snapshots import write_snapshots
from siyu.tags.service import ensure_tag, tag_customer
from tests.helpers import identify, post_batch, track


def test_siyu_segment_preview_reads_what_the_product_shipped(client, write_key, tmp_path):
    post_batch(
        client,
        write_key,
        [
            identify("vip-1", {"city": "长沙"}),
            identify("u-2", {"city": "武汉"}),
            track(
                "Order Completed",
                user_id="vip-1",
                timestamp="2026-11-20T10:00:00+08:00",
                properties={"order_id": "o-1", "revenue": "300"},
            ),
        ],
    )
    with unit_of_work() as session:
        tag = ensure_tag(session, "VIP", "enterprise")
        tag_customer(session, find_customer(session, "vip-1").id, tag.id)
    ship_all()
    write_snapshots()
    rule = tmp_path / "vip_buyers.json"
    rule.write_text(
        json.dumps(
            {
                "and": [
                    {"tag": "VIP"},
                    {"event": "Order Completed", "within_days": 30, "count": {"gte": 1}},
                ]
            }
        )
    )
    result = CliRunner().invoke(
        app, ["segment", "preview", str(rule), "--as-of", "2026-11-24", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["count"] == 1
    members = CliRunner().invoke(app, ["segment", "members", str(rule), "--as-of", "2026-11-24"])
    assert members.output.split() == ["vip-1"]
