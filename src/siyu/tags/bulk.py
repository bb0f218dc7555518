"""Tagging many customers at once: from a segment's members or a list of ids and phones."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core import jobs
from siyu.core.db import utcnow
from siyu.core.errors import InvalidInput
from siyu.core.i18n import N_
from siyu.customers import identity as ids
from siyu.customers.models import Customer, Identity
from siyu.segments import service as segments
from siyu.tags.models import Tag
from siyu.tags.service import bulk_tag

CHUNK = 500
MAX_REFS = 200_000
HEADERS = {"id", "customer_id", "phone", "user_id", "mobile", "手机", "手机号"}


def read_refs(data: bytes) -> list[str]:
    """The first column of a CSV (or one value a line)."""
    text = data.decode("utf-8-sig", errors="replace")
    refs = [row[0].strip() for row in csv.reader(io.StringIO(text)) if row and row[0].strip()]
    if len(refs) > MAX_REFS:
        raise InvalidInput(N_("at most 200,000 customers at a time"), field="file")
    return refs


def resolve_refs(session: Session, refs: Iterable[str]) -> tuple[set[int], list[str]]:
    """Customer ids for customer ids, phones or other identity values; and the ones not found.

    An 11-digit number starting with 1 is a mobile phone; other numbers are customer ids.
    Merged customers lead to the customer they were merged into.
    """
    keys: dict[str, int | str] = {}  # a customer id, or an identity's value
    for ref in dict.fromkeys(r.strip() for r in refs if r.strip()):
        if ref.isdecimal() and len(ref) < 11:
            keys[ref] = int(ref)
        else:
            keys[ref] = ids.normalize_phone(ref) or ref
    by_id = _by_id(session, {key for key in keys.values() if isinstance(key, int)})
    by_value = _by_value(session, [key for key in keys.values() if isinstance(key, str)])
    customers, missing = set(), []
    for ref, key in keys.items():
        found = by_id.get(key) if isinstance(key, int) else by_value.get(key)
        if found:
            customers.add(found)
        elif ref.lower() not in HEADERS:
            missing.append(ref)
    return customers, missing


def _by_id(session: Session, numbers: set[int]) -> dict:
    found, wanted = {}, sorted(numbers)
    for start in range(0, len(wanted), CHUNK):
        rows = session.execute(
            select(Customer.id, Customer.merged_into_id).where(
                Customer.id.in_(wanted[start : start + CHUNK])
            )
        )
        for customer_id, merged_into in rows:
            found[customer_id] = merged_into or customer_id
    return found


def _by_value(session: Session, values: list[str]) -> dict[str, int]:
    found = {}
    for start in range(0, len(values), CHUNK):
        rows = session.execute(
            select(Identity.value, Identity.customer_id).where(
                Identity.value.in_(values[start : start + CHUNK])
            )
        )
        found.update({value: customer_id for value, customer_id in rows})
    return found


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
