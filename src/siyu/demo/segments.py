"""The demo brand's tags, auto-tag rules and segments (山茶 Shancha), filled from its lake."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.audit import acting_as
from siyu.core.db import unit_of_work
from siyu.core.lake import refresh_snapshots
from siyu.segments import service as segments
from siyu.segments.models import Segment
from siyu.tags import auto
from siyu.tags.service import add_group, ensure_tag, group_keys

AUTO_TAGS = (
    ("常客", "behaviour", {"event": "Order Completed", "within_days": 90, "count": {"gte": 3}}),
    (
        "高消费",
        "behaviour",
        {
            "event": "Order Completed",
            "within_days": 180,
            "sum": {"property": "revenue", "gte": 300},
        },
    ),
    (
        "扫码未购",
        "behaviour",
        {
            "and": [
                {"event": "QR Code Scanned", "within_days": 30},
                {"event": "Order Completed", "within_days": 30, "count": {"eq": 0}},
            ]
        },
    ),
    ("VIP群成员", "enterprise", {"event": "Group Joined", "where": {"group_id": "g-vip-01"}}),
)
MANUAL_TAGS = (("奶茶控", "life"), ("上班族", "work"), ("宝妈", "life"), ("双11", "season"))
SEGMENTS: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    (
        "regulars",
        "活跃常客 Active regulars",
        "近 90 天买过 3 次以上、仍活跃：新品先请他们试。Bought 3+ times in 90 days, still active.",
        {"and": [{"tag": "常客"}, {"lifecycle": {"in": ["active"]}}]},
    ),
    (
        "win-back",
        "沉默高价值召回 Win back",
        "曾经的重要客户沉默或流失了：导购一对一召回。Valuable customers gone quiet: win them back.",
        {
            "and": [
                {"lifecycle": {"in": ["silent", "churned"]}},
                {"rfm": {"in": ["important_retention", "important_recovery"]}},
            ]
        },
    ),
    (
        "scanned-no-order",
        "扫码未购 Scanned, no order",
        "30 天内扫过码还没下单：发首单券。Scanned in 30 days, no order yet: a first-order coupon.",
        {"tag": "扫码未购"},
    ),
    (
        "new-from-stores",
        "门店新客 New from store codes",
        "最近扫门店码来的新客：欢迎语之后的第一次跟进。New customers from store codes.",
        {"and": [{"lifecycle": {"in": ["new"]}}, {"event": "QR Code Scanned", "within_days": 30}]},
    ),
)


def seed_demo() -> None:
    """Tags, auto-tags and segments for the demo, evaluated and filled now (idempotent).

    Runs after the demo's lake and snapshots are written."""
    with acting_as("cli:demo"), unit_of_work() as session:
        define(session)
    with unit_of_work() as session:
        auto.evaluate(session)
    refresh_snapshots()  # the segments read the new tags from the lake
    with unit_of_work() as session:
        for segment in segments.list_segments(session):
            segments.refresh(session, segment)


def define(session: Session) -> None:
    if "season" not in group_keys(session):
        add_group(session, "season", "节日 Season")
    for name, group in MANUAL_TAGS:
        ensure_tag(session, name, group)
    auto.install_builtin(session)
    for name, group, rule in AUTO_TAGS:
        tag = ensure_tag(session, name, group)
        if tag.rule is None:
            auto.set_rule(session, tag, rule)
    for key, name, description, rule in SEGMENTS:
        if session.scalar(select(Segment.id).where(Segment.key == key)) is None:
            segments.create_segment(
                session, key, name, rule, "daily", "cli:demo", description=description
            )
