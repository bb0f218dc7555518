"""Tagging many customers at once: from a segment's members or a list of ids and phones."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from siyu.core import jobs
from siyu.core.db import utcnow
from siyu.customers import service as customers
from siyu.segments import service as segments
from siyu.tags.models import Tag
from siyu.tags.service import bulk_tag


def resolve_refs(session: Session, refs: Iterable[str]) -> tuple[set[int], list[str]]:
    """Customer ids for customer ids, phones or other identity values (as
    `customers.service.customers_by_ref` reads them); and the ones not found."""
    refs = list(dict.fromkeys(r.strip() for r in refs if r.strip()))
    found = customers.customers_by_ref(session, refs)
    return set(found.values()), [ref for ref in refs if ref not in found]


def tag_segment(
    session: Session, tag: Tag, segment_key: str, remove: bool = False, actor: str | None = None
) -> int:
    """Tag (or untag) every current member of a stored segment; returns how many changed."""
    segment = segments.find_segment(session, segment_key)
    return bulk_tag(session, tag, segments.member_ids(session, segment), remove=remove, actor=actor)


def enqueue_bulk(
    session: Session,
    tag: Tag,
    *,
    segment_key: str | None = None,
    customer_ids: Iterable[int] = (),
    remove: bool = False,
    actor: str,
) -> jobs.Job:
    """Bulk tagging as a job (a big segment takes a while); the history shows what it did."""
    payload = {
        "tag_id": tag.id,
        "segment": segment_key,
        "customers": sorted(customer_ids),
        "remove": remove,
        "actor": actor,
    }
    key = f"tags.bulk:{tag.id}:{utcnow().timestamp()}:{actor}"
    return jobs.enqueue(session, "tags.bulk", key, payload)
