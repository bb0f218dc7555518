"""Enterprise tags (企业标签) for the WeCom sync: the calls the WeCom side makes, both ways.

In: WeCom says which enterprise tags exist and which a contact carries (`upsert_enterprise_tag`,
`set_enterprise_tags`). Out: the sync asks what changed here (`enterprise_changes`) and pushes it.
Changes that came from WeCom are recorded with source "wecom" and are not sent back.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from siyu.core.errors import InvalidInput
from siyu.tags.models import CustomerTag, Tag, TagChange
from siyu.tags.service import apply_changes, ensure_tag

GROUP = "enterprise"


def upsert_enterprise_tag(session: Session, external_id: str, name: str) -> Tag:
    """The local tag for a WeCom tag id, created or renamed to WeCom's name."""
    tag = session.scalar(select(Tag).where(Tag.external_id == external_id))
    if tag is None:
        tag = ensure_tag(session, name, GROUP)
        if tag.external_id not in (None, external_id):
            raise InvalidInput(f"tag {name!r} is linked to another WeCom tag", field="name")
        tag.external_id = external_id
    elif tag.name != name:
        tag.name = name
    session.flush()
    return tag


def set_enterprise_tags(
    session: Session, customer_id: int, external_ids: Iterable[str], actor: str = "wecom"
) -> tuple[int, int]:
    """Make the customer's WeCom-linked enterprise tags exactly these; returns (added, removed)."""
    wanted_ids = set(external_ids)
    linked = {
        tag.external_id: tag
        for tag in session.scalars(select(Tag).where(Tag.external_id.is_not(None)))
    }
    unknown = wanted_ids - linked.keys()
    if unknown:
        raise InvalidInput(f"unknown WeCom tags: {', '.join(sorted(unknown))}", field="tag_ids")
    having = set(
        session.scalars(
            select(CustomerTag.tag_id).where(
                CustomerTag.customer_id == customer_id,
                CustomerTag.tag_id.in_([t.id for t in linked.values()]),
            )
        )
    )
    added = removed = 0
    for external_id, tag in linked.items():
        adds = external_id in wanted_ids and tag.id not in having
        drops = external_id not in wanted_ids and tag.id in having
        if adds or drops:
            one = [customer_id]
            apply_changes(
                session, tag, one if adds else [], one if drops else [], source="wecom", actor=actor
            )
            added, removed = added + adds, removed + drops
    return added, removed


def enterprise_changes(session: Session, after_id: int = 0, limit: int = 500) -> list[dict]:
    """Changes made here (by hand, rule, bulk or import; not by the sync) to enterprise tags or
    WeCom-linked ones, oldest first from `after_id`: {id, customer_id, tag_id, external_id,
    action} for the WeCom tag push. `external_id` is None for a tag WeCom may not know."""
    rows = session.execute(
        select(TagChange.id, TagChange.customer_id, Tag.id, Tag.external_id, TagChange.action)
        .join(Tag, Tag.id == TagChange.tag_id)
        .where(
            TagChange.id > after_id,
            or_(Tag.group == GROUP, Tag.external_id.is_not(None)),
            TagChange.source != "wecom",
        )
        .order_by(TagChange.id)
        .limit(limit)
    )
    return [
        {"id": i, "customer_id": c, "tag_id": t, "external_id": e, "action": a}
        for i, c, t, e, a in rows
    ]
