"""Auto-tags (自动标签): a tag held exactly while its rule holds, kept true by re-evaluation.

Rules are segment rules (docs/segments.md), read from the lake. The built-in lifecycle and RFM
tags are auto-tags whose rules are {"lifecycle": …} and {"rfm": …}. Every change is written to
the tag history under `rule:<tag name>`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.db import utcnow
from siyu.core.errors import InvalidInput
from siyu.core.i18n import N_
from siyu.segments import evaluation as segments
from siyu.segments.lifecycle import thresholds
from siyu.segments.rules import LIFECYCLE_STAGES, RFM_LAYERS
from siyu.segments.service import check_rule, resolver
from siyu.tags.models import Tag
from siyu.tags.service import apply_changes, ensure_tag, holders

# The names operators know these layers by; the built-ins are created under them.
LIFECYCLE_NAMES = dict(zip(LIFECYCLE_STAGES, ("新客", "活跃客", "沉默客", "流失客"), strict=True))
RFM_NAMES = dict(
    zip(
        RFM_LAYERS,
        (
            "重要价值客户",
            "重要发展客户",
            "重要保持客户",
            "重要挽留客户",
            "一般价值客户",
            "一般发展客户",
            "一般保持客户",
            "一般挽留客户",
        ),
        strict=True,
    )
)


def set_rule(session: Session, tag: Tag, rule: Any) -> Tag:
    """Make `tag` an auto-tag held while `rule` holds (None: a tag set by hand again)."""
    if rule is not None:
        check_rule(session, rule)
        if _names_tag(rule, tag.name):
            message = N_("an auto-tag's rule cannot depend on the tag itself")
            raise InvalidInput(message, field="rule")
    tag.rule = rule
    session.flush()
    return tag


def create_auto_tag(session: Session, name: str, group: str, rule: Any) -> Tag:
    tag = ensure_tag(session, name, group)
    return set_rule(session, tag, rule)


def install_builtin(session: Session) -> list[Tag]:
    """The lifecycle and RFM tags, created once (a brand may change their rules afterwards)."""
    made = []
    for stage, name in LIFECYCLE_NAMES.items():
        made.append(_builtin(session, name, "lifecycle", {"lifecycle": {"in": [stage]}}))
    for layer, name in RFM_NAMES.items():
        made.append(_builtin(session, name, "rfm", {"rfm": {"in": [layer]}}))
    return made


def _builtin(session: Session, name: str, group: str, rule: dict) -> Tag:
    tag = ensure_tag(session, name, group)
    if tag.rule is None:
        set_rule(session, tag, rule)
    return tag


def has_rules(session: Session) -> bool:
    """Whether any tag is an auto-tag (no rules: nothing to evaluate)."""
    return session.scalar(select(Tag.id).where(Tag.rule.is_not(None)).limit(1)) is not None


def auto_tags(session: Session) -> list[Tag]:
    return list(session.scalars(select(Tag).where(Tag.rule.is_not(None)).order_by(Tag.id)))


def evaluate(
    session: Session, tags: list[Tag] | None = None, as_of: datetime | None = None
) -> dict[str, tuple[int, int]]:
    """Bring every auto-tag in line with its rule: {tag name: (added, removed)}."""
    now = as_of or utcnow()
    limits, resolve = thresholds(session), resolver(session)
    changed = {}
    for tag in tags if tags is not None else auto_tags(session):
        wanted = segments.member_ids(tag.rule, as_of=now, resolve=resolve, thresholds=limits)
        having = holders(session, tag.id)
        changed[tag.name] = apply_changes(
            session, tag, wanted - having, having - wanted, source="rule", actor=f"rule:{tag.name}"
        )
        tag.evaluated_at = now
        session.flush()
    return changed


def _names_tag(rule: Any, name: str) -> bool:
    if isinstance(rule, dict):
        return rule.get("tag") == name or any(_names_tag(v, name) for v in rule.values())
    if isinstance(rule, list):
        return any(_names_tag(v, name) for v in rule)
    return False
