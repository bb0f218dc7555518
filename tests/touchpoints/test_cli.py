"""Registering touchpoints and their costs from the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select
from typer.testing import CliRunner

from siyu.cli import app
from siyu.touchpoints.models import Touchpoint, TouchpointCost
from tests.helpers import post_batch, track

runner = CliRunner()


def test_registering_a_code_seen_in_events_keeps_its_history(client, write_key, session):
    post_batch(client, write_key, [track("QR Code Scanned", properties={"touchpoint": "p-1"})])
    result = runner.invoke(
        app,
        [
            "touchpoints",
            "register",
            "--code",
            "p-1",
            "--name",
            "Spring poster",
            "--group",
            "poster",
        ],
    )
    assert result.exit_code == 0, result.output
    listed = json.loads(runner.invoke(app, ["touchpoints", "list", "--json"]).output)
    assert listed == [
        {
            "code": "p-1",
            "name": "Spring poster",
            "group": "poster",
            "entry_type": "owned",
            "registered": True,
            "store": None,
            "owner": None,
        }
    ]


def test_cost_is_recorded_in_fen_over_brand_days(session):
    runner.invoke(
        app,
        [
            "touchpoints",
            "register",
            "--code",
            "ad-1",
            "--name",
            "Feed ad",
            "--group",
            "paid_ad",
            "--entry-type",
            "paid",
        ],
    )
    result = runner.invoke(
        app,
        [
            "touchpoints",
            "cost",
            "--code",
            "ad-1",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-30",
            "--amount",
            "12,000.50",
        ],
    )
    assert result.exit_code == 0, result.output
    cost = session.scalar(select(TouchpointCost))
    assert cost.cost_fen == 1_200_050
    # Nov 1 00:00 in Shanghai is Oct 31 16:00 UTC; the period ends at the start of Dec 1.
    assert cost.period_start == datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert cost.period_end == datetime(2026, 11, 30, 16, tzinfo=UTC)


def test_bad_group_or_unknown_code_is_refused_naming_the_field(session):
    result = runner.invoke(
        app, ["touchpoints", "register", "--code", "x", "--name", "X", "--group", "billboard"]
    )
    assert result.exit_code == 2 and "group" in result.output
    result = runner.invoke(
        app,
        [
            "touchpoints",
            "cost",
            "--code",
            "nope",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-02",
            "--amount",
            "5",
        ],
    )
    assert result.exit_code == 2 and "code" in result.output
    assert session.scalar(select(Touchpoint)) is None


def test_a_touchpoint_names_its_store_and_owner(session):
    from siyu.core.db import unit_of_work
    from siyu.staff.service import create_staff, create_store

    with unit_of_work() as s:
        store = create_store(s, "cs-wuyi", "五一广场店")
        create_staff(s, "刘晓雯", "guide", store.id, "cs-wuyi-g1")
    args = ["touchpoints", "register", "--code", "guide-1", "--name", "刘晓雯的活码"]
    result = runner.invoke(app, [*args, "--store", "cs-wuyi", "--owner", "cs-wuyi-g1"])
    assert result.exit_code == 0, result.output
    (listed,) = json.loads(runner.invoke(app, ["touchpoints", "list", "--json"]).output)
    assert (listed["store"], listed["owner"]) == ("cs-wuyi", "cs-wuyi-g1")
    unknown = runner.invoke(app, [*args, "--store", "nowhere"])
    assert unknown.exit_code == 2 and "store" in unknown.output
