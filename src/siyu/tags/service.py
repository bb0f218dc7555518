"""Put tags on customers and take them off, by hand, in bulk or by a rule, each change recorded."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from siyu.core.db import utcnow
from siyu.core.errors import Conflict, InvalidInput, NotFound
from siyu.core.i18n import N_
from siyu.core.limits import is_whole_number
from siyu.customers.models import Customer
from siyu.tags.models import GROUPS, SOURCES, CustomerTag, Tag, TagChange, TagGroup

CHUNK = 500
WRITE_CHUNK = 5_000


def group_keys(session: Session) -> list[str]:
    """The built-in groups, then the brand's own."""
    added = session.scalars(select(TagGroup.key).order_by(TagGroup.created_at, TagGroup.key))
    return [*GROUPS, *added]


def add_group(session: Session, key: str, name: str) -> TagGroup:
    """A group of the brand's own (e.g. "season"), beside enterprise, work, life, behaviour…"""
    key, name = key.strip().lower(), name.strip()
    if not key.replace("_", "").isalnum() or not key.isascii() or len(key) > 16:
        raise InvalidInput(N_("a group key is 1 to 16 letters, digits or _"), field="key")
    if not name or len(name) > 64:
        raise InvalidInput(N_("a group name is 1 to 64 characters"), field="name")
    if key in group_keys(session):
        raise Conflict(N_("there is already a group with this key"), field="key")
    group = TagGroup(key=key, name=name)
    session.add(group)
    session.flush()
    return group


def ensure_tag(session: Session, name: str, group: str = "other") -> Tag:
    """The tag with this name, created in `group` when there is none yet."""
    name = name.strip()
    if not name or len(name) > 64:
        raise InvalidInput(N_("a tag name is 1 to 64 characters"), field="name")
    tag = session.scalar(select(Tag).where(Tag.name == name))
    if tag is None:
        if group not in GROUPS and group not in group_keys(session):
            raise InvalidInput(N_("no such tag group"), field="group")
        tag = Tag(name=name, group=group)
        session.add(tag)
        session.flush()
    return tag


def find_tag(session: Session, ref: str | int) -> Tag:
    """A tag by id or by name."""
    text = str(ref).strip()
    tag = session.get(Tag, int(text)) if is_whole_number(text) else None
    tag = tag or session.scalar(select(Tag).where(Tag.name == text))
    if tag is None:
        raise NotFound(N_("no such tag"), field="tag")
    return tag


def _actor(session: Session, actor: str | None) -> str:
    return actor or session.info.get("actor") or "system"


def _check_manual(tag: Tag) -> None:
    if tag.rule is not None:
        raise InvalidInput(
            N_("this tag is kept by its rule; change the rule instead of tagging by hand"),
            field="tag",
        )


def tag_customer(
    session: Session,
    customer_id: int,
    tag_id: int,
    source: str = "manual",
    actor: str | None = None,
) -> CustomerTag:
    """Put a tag on a customer; a tag already there stays as it was."""
    if source not in SOURCES:
        raise InvalidInput(f"source must be one of {', '.join(SOURCES)}", field="source")
    if session.get(Customer, customer_id) is None:
        raise NotFound(f"no customer {customer_id}", field="customer_id")
    tag = session.get(Tag, tag_id)
    if tag is None:
        raise NotFound(f"no tag {tag_id}", field="tag_id")
    if source != "rule":
        _check_manual(tag)
    found = session.scalar(
        select(CustomerTag).where(
            CustomerTag.customer_id == customer_id, CustomerTag.tag_id == tag_id
        )
    )
    if found is None:
        found = CustomerTag(customer_id=customer_id, tag_id=tag_id, source=source)
        session.add(found)
        session.add(_change(customer_id, tag_id, "added", source, _actor(session, actor)))
        session.flush()
    return found


def untag_customer(
    session: Session,
    customer_id: int,
    tag_id: int,
    source: str = "manual",
    actor: str | None = None,
) -> bool:
    """Take a tag off a customer; False when it was not there."""
    tag = session.get(Tag, tag_id)
    if tag is not None and source != "rule":
        _check_manual(tag)
    found = session.scalar(
        select(CustomerTag).where(
            CustomerTag.customer_id == customer_id, CustomerTag.tag_id == tag_id
        )
    )
    if found is None:
        return False
    session.delete(found)
    session.add(_change(customer_id, tag_id, "removed", source, _actor(session, actor)))
    session.flush()
    return True


def _change(customer_id: int, tag_id: int, action: str, source: str, actor: str) -> TagChange:
    return TagChange(
        customer_id=customer_id, tag_id=tag_id, action=action, source=source, actor=actor
    )


def holders(session: Session, tag_id: int) -> set[int]:
    """The ids of every customer carrying the tag."""
    return set(session.scalars(select(CustomerTag.customer_id).where(CustomerTag.tag_id == tag_id)))


def apply_changes(
    session: Session,
    tag: Tag,
    added: Iterable[int],
    removed: Iterable[int],
    *,
    source: str,
    actor: str,
    at: datetime | None = None,
) -> tuple[int, int]:
    """Add and remove one tag for many customers at once, with one history row per change.

    Core statements in chunks (no ORM objects, no per-row audit rows: the history is the record).
    The caller passes only real changes (holders() tells which are).
    """
    at = at or utcnow()
    added, removed = sorted(set(added)), sorted(set(removed))
    for start in range(0, len(added), WRITE_CHUNK):
        chunk = added[start : start + WRITE_CHUNK]
        session.execute(
            insert(CustomerTag),
            [{"customer_id": c, "tag_id": tag.id, "source": source, "added_at": at} for c in chunk],
        )
        _record(session, tag.id, chunk, "added", source, actor, at)
    for start in range(0, len(removed), WRITE_CHUNK):
        chunk = removed[start : start + WRITE_CHUNK]
        session.execute(
            delete(CustomerTag)
            .where(CustomerTag.tag_id == tag.id, CustomerTag.customer_id.in_(chunk))
            .execution_options(synchronize_session=False)
        )
        _record(session, tag.id, chunk, "removed", source, actor, at)
    return len(added), len(removed)


def _record(session, tag_id, customer_ids, action, source, actor, at) -> None:
    session.execute(
        insert(TagChange),
        [
            {
                "customer_id": c,
                "tag_id": tag_id,
                "action": action,
                "source": source,
                "actor": actor,
                "at": at,
            }
            for c in customer_ids
        ],
    )


def bulk_tag(
    session: Session,
    tag: Tag,
    customer_ids: Iterable[int],
    *,
    remove: bool = False,
    actor: str | None = None,
) -> int:
    """Tag (or untag) many customers by hand; returns how many changed. Unknown ids are skipped."""
    _check_manual(tag)
    wanted = _existing_customers(session, set(customer_ids))
    having = holders(session, tag.id)
    if remove:
        return apply_changes(
            session, tag, (), wanted & having, source="bulk", actor=_actor(session, actor)
        )[1]
    return apply_changes(
        session, tag, wanted - having, (), source="bulk", actor=_actor(session, actor)
    )[0]


def _existing_customers(session: Session, ids: set[int]) -> set[int]:
    found: set[int] = set()
    wanted = sorted(ids)
    for start in range(0, len(wanted), CHUNK):
        found.update(
            session.scalars(
                select(Customer.id).where(
                    Customer.id.in_(wanted[start : start + CHUNK]),
                    Customer.merged_into_id.is_(None),
                )
            )
        )
    return found


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


def tag_counts(session: Session) -> dict[int, int]:
    """How many customers carry each tag."""
    rows = session.execute(
        select(CustomerTag.tag_id, func.count()).group_by(CustomerTag.tag_id)
    ).all()
    return dict(rows)


def history(
    session: Session,
    *,
    tag_id: int | None = None,
    customer_id: int | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[dict]:
    """Tag changes, newest first (keyset paging on `before`, a change id)."""
    query = select(TagChange, Tag.name).join(Tag, Tag.id == TagChange.tag_id)
    if tag_id is not None:
        query = query.where(TagChange.tag_id == tag_id)
    if customer_id is not None:
        query = query.where(TagChange.customer_id == customer_id)
    if before is not None:
        query = query.where(TagChange.id < before)
    rows = session.execute(query.order_by(TagChange.id.desc()).limit(limit))
    return [
        {
            "id": change.id,
            "customer_id": change.customer_id,
            "tag_id": change.tag_id,
            "tag": name,
            "action": change.action,
            "source": change.source,
            "actor": change.actor,
            "at": change.at,
        }
        for change, name in rows
    ]


def family_tags(session: Session, family: list[int]) -> list[dict]:
    """Tags of a customer and of everyone merged into them, each once."""
    seen: dict[int, dict] = {}
    for tags in tags_of(session, family).values():
        for tag in tags:
            seen.setdefault(tag["id"], tag)
    return sorted(seen.values(), key=lambda t: (t["group"], t["name"]))
