"""What each delivery says, as its sender is handed it: the content's templates rendered for
the customer (their name, traits, guide and store), with the message's tracked links and, for
email, its unsubscribe link. A content that cannot be rendered for a customer fails that
delivery (reason `template`) rather than send a message with a gap in it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.customers.models import Customer
from siyu.messaging import links, templates
from siyu.messaging.models import Delivery, MessageContent
from siyu.messaging.sending import Outcome, Outgoing
from siyu.staff.models import Staff, Store

# Email carries its unsubscribe link in the headers (RFC 8058) and may show it in the body.
WITH_UNSUBSCRIBE = frozenset({"email"})


@dataclass
class People:
    """The customers of a batch, their guides' names and WeCom ids, their stores' names."""

    customers: dict[int, Customer] = field(default_factory=dict)
    guides: dict[int, str] = field(default_factory=dict)
    userids: dict[int, str | None] = field(default_factory=dict)
    stores: dict[int, str] = field(default_factory=dict)

    def guide_of(self, delivery: Delivery) -> int | None:
        """The guide a message goes through or speaks for: the delivery's, else the owner."""
        customer = self.customers.get(delivery.customer_id)
        return delivery.guide_id or (customer.owner_id if customer else None)


def compose(
    session: Session, deliveries: Sequence[Delivery]
) -> tuple[list[Outgoing], list[Outcome]]:
    """The deliveries ready to send, and failures for those whose content cannot be rendered."""
    if not deliveries:
        return [], []
    key = links.secret(session)
    contents = _contents(session, {d.content_id for d in deliveries if d.content_id})
    people = _people(session, deliveries)
    ready, failed = [], []
    for delivery in deliveries:
        content, problem = _content(session, key, delivery, contents, people)
        if problem:
            failed.append(Outcome(delivery.id, "failed", error=f"template: {problem}"))
            continue
        ready.append(
            Outgoing(
                delivery_id=delivery.id,
                key=delivery.key,
                channel=delivery.channel,
                customer_id=delivery.customer_id,
                address=delivery.address or "",
                purpose=delivery.purpose,
                content=content,
                guide_userid=people.userids.get(people.guide_of(delivery) or 0),
            )
        )
    return ready, failed


def _content(
    session: Session,
    key: bytes,
    delivery: Delivery,
    contents: dict[int, MessageContent],
    people: People,
) -> tuple[dict[str, Any], str | None]:
    extra: dict[str, Any] = {}
    if delivery.channel in WITH_UNSUBSCRIBE:
        extra["unsubscribe_url"] = links.unsubscribe_url(key, delivery.id)
    stored = contents.get(delivery.content_id or 0)
    if stored is None:  # a one-off message, rendered already
        count = len((delivery.content or {}).get("links") or [])
        tracked = links.tracked_links(key, delivery.id, count)
        return {**(delivery.content or {}), **extra, "tracked_links": tracked}, None
    targets = [str(u) for u in (stored.extras or {}).get("links") or []]
    tracked = links.tracked_links(key, delivery.id, len(targets))
    customer = people.customers.get(delivery.customer_id)
    guide_id = people.guide_of(delivery)
    store_id = customer.store_id if customer else None
    ctx = templates.context(
        delivery.customer_id,
        customer.traits if customer else {},
        guide=people.guides.get(guide_id) if guide_id else None,
        store=people.stores.get(store_id) if store_id else None,
        links=tracked,
        unsubscribe_url=extra.get("unsubscribe_url"),
    )
    parts: dict[str, Any] = {k: v for k, v in (stored.extras or {}).items() if k != "links"} | {
        "text": stored.text
    }
    if stored.subject is not None:
        parts["subject"] = stored.subject
    if stored.html is not None:
        parts["html"] = stored.html
    rendered, problems = templates.render_content(parts, ctx)
    if problems:
        return {}, f"{problems[0].field}: {problems[0].message}"
    return {**rendered, **extra, "tracked_links": tracked}, None


def _contents(session: Session, ids: set[int | None]) -> dict[int, MessageContent]:
    wanted = sorted(i for i in ids if i)
    if not wanted:
        return {}
    rows = session.scalars(select(MessageContent).where(MessageContent.id.in_(wanted)))
    return {row.id: row for row in rows}


def _people(session: Session, deliveries: Sequence[Delivery]) -> People:
    ids = sorted({d.customer_id for d in deliveries})
    people = People(
        customers={c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(ids)))}
    )
    staff_ids = {d.guide_id for d in deliveries if d.guide_id} | {
        c.owner_id for c in people.customers.values() if c.owner_id
    }
    if staff_ids:
        for staff_id, name, userid in session.execute(
            select(Staff.id, Staff.name, Staff.wecom_userid).where(Staff.id.in_(staff_ids))
        ):
            people.guides[staff_id], people.userids[staff_id] = name, userid
    store_ids = {c.store_id for c in people.customers.values() if c.store_id}
    if store_ids:
        rows = session.execute(select(Store.id, Store.name).where(Store.id.in_(store_ids)))
        people.stores = {store_id: name for store_id, name in rows}
    return people
