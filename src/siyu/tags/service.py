"""Put tags on customers and read them back (the tags issue grows rules and imports on this)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.errors import InvalidInput, NotFound
from siyu.core.i18n import N_
from siyu.customers.models import Customer
from siyu.tags.models import GROUPS, SOURCES, CustomerTag, Tag

CHUNK = 500


def ensure_tag(session: Session, name: str, group: str = "other") -> Tag:
    """The tag with this name, created in `group` when there is none yet."""
    name = name.strip()
    if not name or len(name) > 64:
        raise InvalidInput(N_("a tag name is 1 to 64 characters"), field="name")
    if group not in GROUPS:
        raise InvalidInput(
            N_("a tag group is enterprise, work, life, behaviour or other"), field="group"
        )
    tag = session.scalar(select(Tag).where(Tag.name == name))
    if tag is None:
        tag = Tag(name=name, group=group)
        session.add(tag)
        session.flush()
    return tag


def tag_customer(
    session: Session, customer_id: int, tag_id: int, source: str = "manual"
) -> CustomerTag:
    """Put a tag on a customer; a tag already there stays as it was."""
    if source not in SOURCES:
        raise InvalidInput(f"source must be one of {', '.join(SOURCES)}", field="source")
    if session.get(Customer, customer_id) is None:
        raise NotFound(f"no customer {customer_id}", field="customer_id")
    if session.get(Tag, tag_id) is None:
        raise NotFound(f"no tag {tag_id}", field="tag_id")
    found = session.scalar(
        select(CustomerTag).where(
            CustomerTag.customer_id == customer_id, CustomerTag.tag_id == tag_id
        )
    )
    if found is None:
        found = CustomerTag(customer_id=customer_id, tag_id=tag_id, source=source)
        session.add(found)
        session.flush()
    return found


def untag_customer(session: Session, customer_id: int, tag_id: int) -> bool:
    """Take a tag off a customer; False when it was not there."""
    found = session.scalar(
        select(CustomerTag).where(
            CustomerTag.customer_id == customer_id, CustomerTag.tag_id == tag_id
        )
    )
    if found is None:
        return False
    session.delete(found)
    session.flush()
    return True


def tags_of(session: Session, customer_ids: Iterable[int]) -> dict[int, list[dict]]:
    """Each customer's tags (id, name, group, source), by group then name; absent when none."""
    wanted = list(dict.fromkeys(customer_ids))
    found: dict[int, list[dict]] = {}
    for start in range(0, len(wanted), CHUNK):
        rows = session.execute(
            select(CustomerTag.customer_id, Tag.id, Tag.name, Tag.group, CustomerTag.source)
            .join(Tag, Tag.id == CustomerTag.tag_id)
            .where(CustomerTag.customer_id.in_(wanted[start : start + CHUNK]))
            .order_by(Tag.group, Tag.name)
        )
        for customer_id, tag_id, name, group, source in rows:
            tag = {"id": tag_id, "name": name, "group": group, "source": source}
            found.setdefault(customer_id, []).append(tag)
    return found


def all_tags(session: Session, limit: int = 1000) -> list[Tag]:
    return list(session.scalars(select(Tag).order_by(Tag.group, Tag.name).limit(limit)))


def family_tags(session: Session, family: list[int]) -> list[dict]:
    """Tags of a customer and of everyone merged into them, each once."""
    seen: dict[int, dict] = {}
    for tags in tags_of(session, family).values():
        for tag in tags:
            seen.setdefault(tag["id"], tag)
    return sorted(seen.values(), key=lambda t: (t["group"], t["name"]))
