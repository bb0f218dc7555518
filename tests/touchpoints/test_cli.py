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
